"""A token given to canfar never comes back out: not on stdout or stderr, not in ``--debug``
traces or logs, not in the config, not on any process's command line; the credentials file is
private (0600) from the moment it exists and is replaced atomically."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from canfar_core import config
from tests.faults.harness import TOKEN

#: Any run of this many characters of the token counts as a leak (a masked token shows 4).
WINDOW = 8


def leaks(text: str, secret: str = TOKEN) -> list[str]:
    """The pieces of ``secret`` found in ``text``."""
    return [
        secret[i : i + WINDOW]
        for i in range(len(secret) - WINDOW + 1)
        if secret[i : i + WINDOW] in text
    ]


def assert_clean(result) -> None:
    assert leaks(result.out) == [], result.out
    assert leaks(result.err) == [], result.err


@pytest.fixture
def logged_in(run, fake, monkeypatch):
    """Logged in through ``canfar auth login`` (the token read from stdin), as users do."""
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    result = run("auth", "login", "--url", fake.url, "--token-stdin", "--name", "site", stdin=TOKEN)
    assert result.code == 0, result.err
    assert_clean(result)
    return fake


def test_every_command_keeps_the_token_to_itself(run, logged_in, caplog):
    fake = logged_in
    caplog.set_level(logging.DEBUG)
    session = fake.add_session(name="mine", logs="hello\n")
    created = run("create", "headless", "skaha/astroml", "-e", "BAND=r", "--", "python", "a.py")
    assert created.code == 0, created.err
    runs = [
        created,
        run("ps"),
        run("ps", "--json"),
        run("--debug", "ps", "--all"),
        run("info", session),
        run("info", "--json", session),
        run("logs", session),
        run("events", session),
        run("stats"),
        run("images"),
        run("config", "show"),
        run("config", "show", "--json"),
        run("config", "path"),
        run("auth", "status"),
        run("auth", "status", "--json"),
        run("auth", "list"),
        run("auth", "list", "--json"),
        run("--debug", "auth", "status"),
        run("--debug", "delete", "--force", session),
    ]
    for result in runs:
        assert result.code == 0, result.err
        assert_clean(result)
    assert fake.requests[-1].header("Authorization") == f"Bearer {TOKEN}"  # it was sent
    assert leaks(caplog.text) == []
    assert "/skaha/v1/session" in caplog.text  # the HTTP traffic was logged


ECHOES = [
    # (method, status, body, headers): a server or proxy that repeats the credentials back
    ("GET", 401, f"invalid token: {TOKEN}", {"WWW-Authenticate": f'Bearer error="{TOKEN}"'}),
    ("GET", 403, f"user of token Bearer {TOKEN} is not a member", {}),
    ("GET", 400, "x" * 280 + TOKEN, {}),  # where the message is shortened
    ("GET", 503, f"<html><title>Bearer {TOKEN} unavailable</title></html>", {}),
    ("GET", 200, f"<html>not json: Bearer {TOKEN}</html>", {}),
    ("POST", 500, f"unexpected exception: header Authorization: Bearer {TOKEN}", {}),
]


@pytest.mark.parametrize(
    ("method", "status", "body", "headers"),
    ECHOES,
    ids=["401-header-and-body", "403", "400-long", "503-html", "200-not-json", "500-on-create"],
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_server_that_echoes_the_token_does_not_make_canfar_print_it(
    run, logged_in, caplog, method, status, body, headers, debug
):
    caplog.set_level(logging.DEBUG)
    logged_in.inject(method, r"/v1/session$", status, body=body, headers=headers, times=None)
    args = ("ps",) if method == "GET" else ("create", "headless", "skaha/astroml", "--", "true")
    result = run(*(("--debug",) if debug else ()), *args)
    assert result.code == 1
    assert "Error: " in result.err
    assert_clean(result)
    assert leaks(caplog.text) == []
    if debug:
        assert "Traceback" in result.err  # the trace was shown, and it is clean too


def test_the_debug_trace_of_a_real_process_is_clean(logged_in):
    """``--debug`` in its own process: logging goes to the real stderr there."""
    logged_in.inject("GET", r"/v1/session$", 401, body=f"bad token {TOKEN}", times=None)
    logged_in.add_session(name="x")
    script = Path(sys.executable).with_name("canfar")
    env = dict(os.environ)
    for args in (["--debug", "ps"], ["--debug", "auth", "status"], ["--debug", "images"]):
        done = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=60, env=env, check=False
        )
        assert leaks(done.stdout + done.stderr) == [], done.stderr
        assert "canfar.http" in done.stderr or "urllib3" in done.stderr, done.stderr


def test_the_token_from_the_environment_is_never_printed(run, fake):
    fake.add_session(name="env")
    for args in (
        ("ps",),
        ("--debug", "ps"),
        ("auth", "status"),
        ("auth", "list"),
        ("config", "show"),
    ):
        result = run(*args)
        assert result.code == 0, result.err
        assert_clean(result)
    fake.tokens.clear()
    refused = run("ps")
    assert refused.code == 1
    assert_clean(refused)


def test_no_option_takes_a_secret_on_the_command_line():
    """Secrets come from stdin, a prompt, a file or the environment: never from argv, where
    every user of the machine can read them."""
    from canfar_core.cli import build_cli

    def walk(command: click.Command, path: str):
        for param in command.params:
            yield path, param
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")

    words = ("token", "secret", "password", "passwd")
    found = [
        f"{path} {'/'.join(param.opts)}"
        for path, param in walk(build_cli(), "canfar")
        if isinstance(param, click.Option)
        and not param.is_flag
        and any(word in (param.name or "").lower() for word in words)
    ]
    assert found == []


# -- the credentials file -------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_credentials_are_private_and_apart_from_the_config(logged_in):
    secrets = config.credentials_file().path
    assert mode_of(secrets) == 0o600
    assert TOKEN in secrets.read_text()
    assert leaks(config.config_file().path.read_text()) == []


def test_credentials_stay_private_whatever_the_umask(run, fake, monkeypatch):
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    old = os.umask(0)
    try:
        result = run("auth", "login", "--url", fake.url, "--token-stdin", stdin=TOKEN)
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert mode_of(config.credentials_file().path) == 0o600


def test_a_world_readable_credentials_file_is_made_private_on_the_next_write(
    run, fake, monkeypatch
):
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    secrets = config.credentials_file().path
    secrets.parent.mkdir(parents=True)
    secrets.write_text("{}")
    secrets.chmod(0o644)  # left by some older tool
    result = run("auth", "login", "--url", fake.url, "--token-stdin", stdin=TOKEN)
    assert result.code == 0, result.err
    assert mode_of(secrets) == 0o600


def test_credentials_are_never_visible_half_written_or_readable_by_others(run, fake, monkeypatch):
    """The new file is complete and 0600 before it takes the old one's place; a failure on the
    way leaves the old file whole and no stray copy behind."""
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    assert (
        run("auth", "login", "--url", fake.url, "--token-stdin", "--name", "a", stdin=TOKEN).code
        == 0
    )
    secrets = config.credentials_file().path
    before = secrets.read_bytes()
    seen: list[tuple[int, str]] = []
    real_replace = os.replace

    def watching_replace(src, dst):
        if Path(dst) == secrets:
            seen.append((mode_of(Path(src)), Path(src).read_text()))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    result = run("auth", "login", "--url", fake.url, "--token-stdin", "--name", "b", stdin=TOKEN)
    assert result.code == 0, result.err
    assert len(seen) == 1
    mode, text = seen[0]
    assert mode == 0o600
    assert '"a"' in text  # complete before the swap
    assert '"b"' in text

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    now = secrets.read_bytes()
    assert now != before
    failed = run("auth", "login", "--url", fake.url, "--token-stdin", "--name", "c", stdin=TOKEN)
    assert failed.code == 1
    assert f"cannot write {secrets}" in failed.error_line()
    assert secrets.read_bytes() == now
    assert sorted(p.name for p in secrets.parent.iterdir()) == ["config.json", "credentials.json"]


def test_logout_removes_the_token(run, logged_in):
    assert run("auth", "logout", "site").code == 0
    assert leaks(config.credentials_file().path.read_text()) == []
    assert mode_of(config.credentials_file().path) == 0o600


# -- command lines of the processes canfar starts -------------------------------------------


def command_lines() -> dict[int, str]:
    """Every process's command line on this machine, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                )
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_local_replicas_never_get_the_token_in_argv_or_environment(run, monkeypatch):
    monkeypatch.setenv("CANFAR_TOKEN", TOKEN)  # set in the shell, as users do
    # this machine chosen for the command (a token with no remote context chosen is refused)
    result = run(
        "create", "headless", "skaha/astroml", "--backend", "local", "-r", "2", "-q",
        "--", "sleep", "30",
    )  # fmt: skip
    assert result.code == 0, result.err
    ids = result.out.split()
    assert len(ids) == 2
    try:
        import json

        info = json.loads(run("info", "--backend", "local", "--json", *ids).out)
        groups = {entry["extra"]["pgid"] for entry in info}
        lines = command_lines()
        replicas = {
            pid: line for pid, line in lines.items() if _pgid(pid) in groups and line.strip()
        }
        assert any("sleep 30" in line for line in replicas.values()), replicas
        assert [line for line in lines.values() if leaks(line)] == []
        environments = [_environment(pid) for pid in replicas]
        assert all("REPLICA_ID" in env for env in environments), "read the wrong processes"
        assert [env for env in environments if "CANFAR_TOKEN" in env or leaks(str(env))] == []
    finally:
        assert run("delete", "--backend", "local", "--force", *ids).code == 0


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
    return dict(item.partition("=")[::2] for item in raw.split("\0") if item)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
