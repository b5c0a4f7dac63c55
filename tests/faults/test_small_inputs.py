"""Small inputs that used to slip through: a trailing line break in an id, name or variable name;
arguments that are not UTF-8; a umask of 000 when canfar creates its folders."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from canfar_core import validation
from canfar_core.errors import ValidationError
from tests.faults.test_bad_input import assert_refused


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (validation.check_session_id, "abc\n"),
        (validation.check_name, "name\n"),
        (validation.check_env, {"KEY\n": "v"}),
    ],
    ids=["session-id", "name", "env-name"],
)
def test_a_trailing_line_break_is_refused(check, value):
    with pytest.raises(ValidationError):
        check(value)


@pytest.mark.parametrize("command", ["delete", "info", "logs", "renew"])
def test_an_id_with_a_trailing_line_break_never_reaches_the_server(run, fake, command):
    kept = fake.add_session(name="kept")
    result = run(command, kept + "\n")
    assert_refused(result, "is not a session id")
    assert "Deleted" not in result.err + result.out
    assert fake.requests == []


def test_a_name_or_variable_with_a_trailing_line_break_is_refused(run, fake):
    create = ("create", "headless", "skaha/astroml")
    assert_refused(run(*create, "--name", "fit\n", "--", "true"), "session name")
    assert_refused(run(*create, "--env", "KEY\n=1", "--", "true"), "environment variable name")
    assert fake.requests == []


# -- arguments that are not UTF-8 -----------------------------------------------------------

#: What Python makes of the byte 0xff in an argument (its file-system encoding escape).
NOT_UTF8 = os.fsdecode(b"\xff")


@pytest.mark.parametrize(
    "args",
    [
        ("create", "headless", f"img/{NOT_UTF8}:1", "--", "true"),
        ("config", "set", "defaults.image", f"img/{NOT_UTF8}"),
        ("config", "set", f"plugins.{NOT_UTF8}.x", "1"),
        ("delete", f"ab{NOT_UTF8}"),
        ("auth", "switch", NOT_UTF8),
    ],
    ids=["image", "setting-value", "setting-name", "id", "context"],
)
def test_arguments_that_are_not_utf8_are_a_usage_error(run, canfar_home, args):
    from canfar_core import config

    result = run(*args)
    assert_refused(result, "not UTF-8")
    assert "\\xff" in result.err  # shown as the byte it is
    assert config.config_file().read() == {}


def test_a_replica_command_word_that_is_not_utf8_is_passed_on_byte_for_byte(run, tmp_path):
    """After ``--`` the words are the replica's own: a file name in another encoding is fine."""
    from canfar.sessions import Session

    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / os.fsdecode(b"caf\xe9.txt")
    result = run("create", "headless", "img/x:1", "-q", "--", "touch", str(target))
    assert result.code == 0, result.err
    api = Session(backend="local")
    [session_id] = result.out.split()
    api.wait([session_id], status=("Completed", "Failed"), timeout=10, poll=0.02)
    assert os.listdir(os.fsencode(folder)) == [b"caf\xe9.txt"]
    api.destroy(session_id)


# -- umask 000 --------------------------------------------------------------------------------


def test_folders_are_private_under_umask_000(tmp_path):
    """Config and state folders (and the parents canfar creates) are 0700 whatever the umask."""
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "CANFAR_BACKEND": "local",
    }
    script = (
        "import os, sys\n"
        "os.umask(0)\n"
        "from canfar_core.cli import main\n"
        "codes = [main(['config', 'set', 'defaults.image', 'a/b']), main(['ps'])]\n"
        "sys.exit(max(codes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    created = [p for p in tmp_path.rglob("*") if p.is_dir()]
    assert {p.name for p in created} >= {"config", "state", "canfar", "local"}
    loose = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in created}
    assert all(mode == "0o700" for mode in loose.values()), loose
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 or path.suffix == ".json", path


def test_a_command_word_that_is_not_utf8_is_refused_for_the_platform(run, fake):
    """The platform takes UTF-8 text only: refused before anything is sent, never a crash."""
    result = run("create", "headless", "skaha/astroml", "--", "echo", NOT_UTF8)
    assert_refused(result, "the command word '\\xff' is not UTF-8 text")
    assert fake.requests == []


def test_the_python_api_refuses_an_image_that_is_not_utf8(canfar_home):
    from canfar.sessions import Session

    with pytest.raises(ValidationError, match="is not UTF-8 text"):
        Session(backend="local").create(image=f"img/{NOT_UTF8}:1", cmd="true")
