"""The CLI shell, in process: version, plugins, plugin commands, and how failures are reported."""

from __future__ import annotations

import io
import json
import platform
import sys

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canfar_core import __version__, hookimpl
from canfar_core.cli import build_cli, main
from canfar_core.errors import NotFound, ValidationError


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class Commands:
    """A plugin that adds the commands it is given."""

    __version__ = "3.1"

    def __init__(self, *commands: click.Command) -> None:
        self.commands = commands

    @hookimpl
    def canfar_register_commands(self, cli):
        for command in self.commands:
            cli.add_command(command)


def command(name: str, action):
    @click.command(name)
    def run_it():
        """A test command."""
        action()

    return run_it


def raising(exc: BaseException):
    def action():
        raise exc

    return action


# -- version and plugins ------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(capsys, flag):
    assert run(capsys, flag) == (0, f"canfar {__version__}\n", "")


def test_version_command_names_python_and_third_party_plugins(capsys, canfar_plugin):
    canfar_plugin(Commands(), name="site-tools")
    code, out, _ = run(capsys, "version")
    assert code == 0
    assert out.splitlines()[0] == f"canfar {__version__} (Python {platform.python_version()})"
    assert "  plugin site-tools 3.1" in out.splitlines()
    code, out, _ = run(capsys, "version", "--json")
    data = json.loads(out)
    assert (data["canfar"], data["python"]) == (__version__, platform.python_version())
    assert data["plugins"]["site-tools"] == "3.1"
    assert "kinds" not in data["plugins"]  # built-ins are part of canfar's own version


def test_plugins_json_lists_builtins_and_third_party_with_exactly_six_keys(capsys, canfar_plugin):
    canfar_plugin(Commands(), name="site-tools")
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    listed = json.loads(out)
    keys = {"name", "version", "hooks", "builtin", "status", "reason"}
    assert all(set(item) == keys for item in listed)
    by_name = {item["name"]: item for item in listed}
    assert by_name["site-tools"] == {
        "name": "site-tools",
        "version": "3.1",
        "hooks": ["canfar_register_commands"],
        "builtin": False,
        "status": "loaded",
        "reason": None,
    }
    assert by_name["kinds"]["builtin"] is True
    assert by_name["kinds"]["version"] == __version__
    assert "canfar_register_session_kinds" in by_name["kinds"]["hooks"]


def test_plugins_table(capsys, canfar_plugin):
    canfar_plugin(Commands(), name="site-tools")
    code, out, err = run(capsys, "plugins")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "BUILTIN", "STATUS", "HOOKS"]
    assert ["site-tools", "3.1", "no", "loaded", "canfar_register_commands"] in [
        line.split() for line in lines
    ]


# -- plugin commands ----------------------------------------------------------------------


def test_a_plugin_command_appears_in_help_and_runs(capsys, canfar_plugin):
    canfar_plugin(Commands(command("greet", lambda: click.echo("hi"))), name="greeter")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "greet" in out
    assert run(capsys, "greet") == (0, "hi\n", "")


def test_a_removed_plugin_takes_its_command_with_it(capsys, canfar_plugin):
    from canfar_core.manager import get_manager

    canfar_plugin(Commands(command("greet", lambda: click.echo("hi"))), name="greeter")
    assert run(capsys, "greet")[0] == 0
    get_manager().unregister("greeter")
    code, _, err = run(capsys, "greet")
    assert code == 2
    assert "No such command 'greet'" in err


def test_build_cli_twice_adds_each_command_once(capsys, canfar_plugin):
    canfar_plugin(Commands(command("greet", lambda: click.echo("hi"))), name="greeter")
    build_cli()
    group = build_cli()
    assert capsys.readouterr().err == ""
    assert "greet" in group.commands
    result = CliRunner().invoke(group, ["greet"])
    assert (result.exit_code, result.output) == (0, "hi\n")


def test_a_command_name_taken_twice_is_one_warning_naming_both_plugins(capsys, canfar_plugin):
    canfar_plugin(Commands(command("greet", lambda: click.echo("first"))), name="first-plugin")
    canfar_plugin(Commands(command("greet", lambda: click.echo("second"))), name="second-plugin")
    code, out, err = run(capsys, "greet")
    assert (code, out) == (0, "first\n")
    (line,) = err.splitlines()
    assert "'greet'" in line
    assert "'first-plugin'" in line
    assert "'second-plugin'" in line


def test_a_plugin_may_not_replace_a_builtin_command(capsys, canfar_plugin):
    canfar_plugin(Commands(command("plugins", lambda: click.echo("fake"))), name="imposter")
    code, out, err = run(capsys, "plugins")
    assert code == 0
    assert out.startswith("NAME ")
    assert "'imposter'" in err
    assert "'plugin_commands'" in err


def test_a_plugin_failing_to_add_commands_leaves_a_working_cli(capsys, canfar_plugin):
    class Broken:
        @hookimpl
        def canfar_register_commands(self, cli):
            raise RuntimeError("click too old")

    canfar_plugin(Broken(), name="broken-cmds")
    code, out, err = run(capsys, "--help")
    assert code == 0
    assert "config" in out
    assert err == (
        "canfar: warning: plugin 'broken-cmds' could not add its commands: "
        "RuntimeError: click too old\n"
    )


# -- how failures look --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (
            ValidationError("--cores must be a number, not 'x'"),
            2,
            "Error: --cores must be a number, not 'x'\n",
        ),
        (
            NotFound("no session 'abc'", hint="see: canfar ps"),
            1,
            "Error: no session 'abc' (see: canfar ps)\n",
        ),
        (
            RuntimeError("disk on fire\nsecond line"),
            1,
            "Error: unexpected RuntimeError: disk on fire (run with --debug for details)\n",
        ),
        (KeyboardInterrupt(), 130, "Interrupted.\n"),
    ],
)
def test_failures_are_one_line_with_their_exit_code(capsys, canfar_plugin, exc, code, message):
    canfar_plugin(Commands(command("fail", raising(exc))), name="failing")
    status, out, err = run(capsys, "fail")
    assert (status, out) == (code, "")
    assert err.lstrip("\n") == message  # after ^C, click first ends the terminal's line


def test_debug_shows_the_traceback_as_well(capsys, canfar_plugin):
    canfar_plugin(Commands(command("fail", raising(RuntimeError("boom")))), name="failing")
    code, _, err = run(capsys, "--debug", "fail")
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.endswith("Error: unexpected RuntimeError: boom (run with --debug for details)\n")


@pytest.mark.parametrize(
    ("value", "shown"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_canfar_debug_variable(capsys, canfar_plugin, monkeypatch, value, shown):
    canfar_plugin(Commands(command("fail", raising(RuntimeError("boom")))), name="failing")
    monkeypatch.setenv("CANFAR_DEBUG", value)
    code, _, err = run(capsys, "fail")
    assert code == 1
    assert ("Traceback" in err) is shown


def test_debug_after_double_dash_belongs_to_the_users_command(capsys, canfar_plugin):
    @click.command("launch", context_settings={"ignore_unknown_options": True})
    @click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
    def launch(cmd):
        raise RuntimeError("boom")

    canfar_plugin(Commands(launch), name="launcher")
    code, _, err = run(capsys, "launch", "--", "python", "--debug")
    assert code == 1
    assert "Traceback" not in err


def test_usage_errors_exit_2_with_click_usage(capsys):
    code, out, err = run(capsys, "no-such-command")
    assert (code, out) == (2, "")
    assert "Error: No such command 'no-such-command'." in err
    assert run(capsys, "config", "get")[0] == 2
    assert run(capsys, "--no-such-option")[0] == 2


def test_sys_exit_in_a_command_gives_its_code(capsys, canfar_plugin):
    canfar_plugin(Commands(command("quit", lambda: sys.exit(3))), name="quitter")
    assert run(capsys, "quit")[0] == 3


def test_a_refused_confirmation_is_aborted_exit_1(capsys, canfar_plugin, monkeypatch):
    canfar_plugin(
        Commands(command("wipe", lambda: click.confirm("Wipe?", abort=True))), name="wiper"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "wipe")
    assert code == 1
    assert err.endswith("Aborted.\n")


def test_a_prompt_with_closed_stdin_is_an_error_not_an_interrupt(
    capsys, canfar_plugin, monkeypatch
):
    canfar_plugin(Commands(command("ask", lambda: click.prompt("Name"))), name="asker")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "ask")
    assert code == 1
    assert "Error: no answer (standard input is closed)" in err


def test_help_on_every_core_command(capsys):
    for args in (
        ["-h"],
        ["version", "-h"],
        ["plugins", "-h"],
        ["config", "-h"],
        ["config", "set", "-h"],
    ):
        code, out, err = run(capsys, *args)
        assert (code, err) == (0, "")
        assert out.startswith("Usage: canfar")


words = st.sampled_from(
    [
        "config",
        "show",
        "get",
        "set",
        "unset",
        "path",
        "plugins",
        "version",
        "--json",
        "-h",
        "--debug",
        "--context",
        "x",
        "-1",
        "defaults.image",
        "--",
        "",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(words | st.text(max_size=8), max_size=5))
def test_main_never_raises_and_never_prints_a_traceback(canfar_home, capsys, args):
    code = main(args)
    _, err = capsys.readouterr()
    assert isinstance(code, int)
    assert code in (0, 1, 2)
    if "--debug" not in args:
        assert "Traceback" not in err


def test_canfar_alone_shows_the_help_as_a_usage_error(capsys):
    code, out, err = run(capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Usage: canfar [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in err


@pytest.mark.parametrize("columns", ["80", "200"])
def test_help_shows_every_command_summary_whole(monkeypatch, columns):
    """``canfar --help`` lists each command with a summary that is not cut off with "..."."""
    import os
    import subprocess

    env = {**os.environ, "COLUMNS": columns}
    done = subprocess.run(
        [sys.executable, "-m", "canfar_core.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.split("Commands:", 1)[1].splitlines()
    cut = [line.strip() for line in commands if line.rstrip().endswith("...")]
    assert cut == []
