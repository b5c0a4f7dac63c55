"""Fixtures of the CLI tests: the in-memory backend, made active for one test, and
``run`` which calls ``canfar`` in-process and returns its exit code and output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``run("ps", "-q")``: run canfar in-process; returns exit code, stdout and stderr."""
    from canfar_core.cli import main

    def invoke(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
