"""Fixtures of the CLI tests: the in-memory backend, made active for one test, and
``run`` which calls ``canfar`` in-process and returns its exit code and output."""

from __future__ import annotations

import pytest

from tests.api.memory_backend import MemoryPlugin, World


@pytest.fixture
def world(canfar_home, canfar_plugin, monkeypatch: pytest.MonkeyPatch) -> World:
    """The state of the ``memory`` backend that canfar commands use for this test."""
    state = World()
    canfar_plugin(MemoryPlugin(state), name="memory-backend")
    monkeypatch.setenv("CANFAR_BACKEND", "memory")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return state
