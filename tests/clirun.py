"""Running ``canfar`` in-process from a test: the ``run`` fixture (in ``tests/conftest.py``) and
what it returns."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    """What a command left: its exit code, standard output and standard error."""

    code: int
    out: str
    err: str


class TerminalInput(io.StringIO):
    """Standard input as a person at a terminal has it (the answers come from ``stdin=``)."""

    def isatty(self) -> bool:
        return True


def invoke(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: str = "",
    terminal: bool = False,
) -> Result:
    """``canfar ARGV`` in this process, reading ``stdin`` (a terminal when ``terminal``)."""
    from canfar_core.cli import main

    monkeypatch.setattr("sys.stdin", (TerminalInput if terminal else io.StringIO)(stdin))
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
