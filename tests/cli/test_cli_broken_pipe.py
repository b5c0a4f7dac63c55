"""A reader that stops early (``canfar ps | head -1``) is not an error: canfar exits 0 and
prints nothing on stderr, as standard Unix tools do."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys

import pytest

from canfar_core import hookimpl

COMMAND = [sys.executable, "-m", "canfar_core.cli"]
#: The console script's own entry, which answers --help and --version without click.
CONSOLE_SCRIPT = [sys.executable, "-c", "from canfar._command import run; run()"]


def run_into_closed_pipe(
    *args: str, command: list[str] = COMMAND
) -> subprocess.CompletedProcess[bytes]:
    """Run canfar with stdout on a pipe whose reader has already gone: every write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*command, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["plugins", "--json"], ["version"]])
def test_a_reader_gone_before_anything_is_written(canfar_home, args):
    done = run_into_closed_pipe(*args)
    assert (done.returncode, done.stderr) == (0, b"")


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["plugins"]])
def test_the_console_script_into_a_closed_pipe(canfar_home, args):
    done = run_into_closed_pipe(*args, command=CONSOLE_SCRIPT)
    assert (done.returncode, done.stderr) == (0, b"")


def test_a_shell_pipeline_into_head_succeeds_under_pipefail(canfar_home):
    program = shlex.join([*COMMAND, "plugins"])
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {program} | head -n 0"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


class _ClosedPipe(io.RawIOBase):
    """A stdout whose reader went away once ``broken`` is set."""

    def __init__(self) -> None:
        self.broken = True

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        return len(data)


@pytest.fixture
def closed_stdout(monkeypatch: pytest.MonkeyPatch):
    """Puts sys.stdout on a pipe whose reader went away; called in the test itself, since
    pytest's own capture replaces sys.stdout after the fixtures are set up."""
    raw = _ClosedPipe()

    def install() -> None:
        stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")
        monkeypatch.setattr(sys, "stdout", stream)

    yield install
    raw.broken = False  # what is still buffered can be flushed quietly when it is collected


@pytest.mark.parametrize("args", [["ps", "--all"], ["logs", "SID"], ["info", "SID"]])
def test_every_way_of_printing_stops_quietly_with_exit_0(world, closed_stdout, capsys, args):
    from canfar_core.cli import main

    sid = world.add("long", status="Completed")
    world.logs[sid] = "a line of output\n" * 10_000
    closed_stdout()
    code = main([sid if arg == "SID" else arg for arg in args])
    assert (code, capsys.readouterr().err) == (0, "")


def test_a_plugin_that_exits_still_sets_the_exit_code(canfar_home, canfar_plugin, run):
    import click

    class Exits:
        @hookimpl
        def canfar_register_commands(self, cli: click.Group) -> None:
            @cli.command("quit-three")
            def quit_three() -> None:
                sys.exit(3)

    canfar_plugin(Exits(), name="exits")
    assert run("quit-three").code == 3
