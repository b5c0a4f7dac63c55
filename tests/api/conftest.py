"""Fixtures of the Python API tests: an in-memory backend made active for one test."""

from __future__ import annotations

import pytest

from tests.api.memory_backend import MemoryPlugin, World


@pytest.fixture
def world(canfar_home, canfar_plugin, monkeypatch: pytest.MonkeyPatch) -> World:
    """The state of a ``memory`` backend that ``Session()`` uses for this test."""
    state = World()
    canfar_plugin(MemoryPlugin(state), name="memory-backend")
    monkeypatch.setenv("CANFAR_BACKEND", "memory")
    return state
