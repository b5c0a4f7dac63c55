"""Commands run at the same time never lose a saved context, credential or setting.

Figures: contexts kept after 8 concurrent logins: 8 of 8 (each with its token); keys kept after
8 concurrent ``config set``: 8 of 8. A login killed while writing its credentials leaves no
temporary file holding the token once the next command has saved.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canfar_core import config
from tests.faults.harness import TOKEN

CONCURRENT = 8


#: ``canfar ARGS`` started at an agreed moment, once Python and the plugins are loaded, so
#: that the commands really run at the same time.
AT_ONCE = """
import sys, time
import requests
from canfar_core.cli import build_cli, main
build_cli()
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
sys.exit(main(sys.argv[2:]))
"""


def _canfar(*args: str) -> list[str]:
    return [sys.executable, "-m", "canfar_core.cli", *args]


def _run_together(
    commands: list[list[str]], stdin: str = "", check: bool = True
) -> list[tuple[int, str]]:
    """Run ``canfar`` with each argument list, all starting at the same moment; each must exit 0
    (unless not ``check``). The exit code and stderr of each."""
    start = time.time() + 1.0 + 0.3 * len(commands)
    commands = [[sys.executable, "-c", AT_ONCE, str(start), *args] for args in commands]
    procs = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for command in commands
    ]
    outcomes = []
    for proc in procs:
        _, err = proc.communicate(stdin, timeout=120)
        assert proc.returncode == 0 or not check, err
        outcomes.append((proc.returncode, err))
    return outcomes


@pytest.fixture
def server(monkeypatch):
    """The fake service, for logins to verify against; the environment names no server."""
    from tests.fakeskaha import FakeSkaha

    fake = FakeSkaha(tokens={TOKEN: "jdoe"}).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.mark.slow
def test_8_concurrent_logins_keep_8_of_8_contexts_with_credentials(server):
    names = [f"site{n}" for n in range(CONCURRENT)]
    _run_together(
        [["auth", "login", "--url", server.url, "--token-stdin", "--name", n] for n in names],
        stdin=TOKEN,
    )
    contexts = config.config_file().read().get("contexts", {})
    secrets = config.credentials_file().read()
    kept = [n for n in names if n in contexts and secrets.get(n, {}).get("token") == TOKEN]
    assert f"{len(kept)} of {CONCURRENT}" == f"{CONCURRENT} of {CONCURRENT}", sorted(kept)
    assert config.config_file().read()["active"] in names
    assert stat.S_IMODE(config.credentials_file().path.stat().st_mode) == 0o600


@pytest.mark.slow
def test_8_concurrent_config_sets_keep_8_of_8_keys():
    _run_together([["config", "set", f"plugins.race.key{n}", str(n)] for n in range(CONCURRENT)])
    kept = config.config_file().read().get("plugins", {}).get("race", {})
    assert f"{len(kept)} of {CONCURRENT}" == f"{CONCURRENT} of {CONCURRENT}", kept
    assert kept == {f"key{n}": n for n in range(CONCURRENT)}


@pytest.mark.slow
def test_8_parallel_commands_after_the_access_token_expired_refresh_it_once(server):
    """A provider that rotates refresh tokens accepts each one once: the commands take turns
    (a lock), the first refreshes and saves, the others use what it saved."""
    from tests.skaha.fakeidp import FakeIdP, make_jwt

    # Each refresh takes 2 s: every command has read the expired tokens before one is done.
    idp = FakeIdP(rotate=True, refresh_delay=2.0).start()
    try:
        idp.clients["client-1"] = "client-secret"
        idp.refresh_tokens.add("refresh-0")
        server.validator = lambda token: "jdoe" if token.count(".") == 2 else None
        entry = {"backend": "canfar", "url": server.url, "auth": "oidc"}
        config.config_file().write(
            {"contexts": {"src": {**entry, "options": {"issuer": idp.issuer}}}, "active": "src"}
        )
        expired = int(time.time()) - 60
        config.credentials_file().write(
            {
                "src": {
                    "issuer": idp.issuer,
                    "token_endpoint": idp.issuer + "token",
                    "client_id": "client-1",
                    "client_secret": "client-secret",
                    "access_token": make_jwt({"preferred_username": "jdoe", "exp": expired}),
                    "refresh_token": "refresh-0",
                    "expires_at": expired,
                }
            }
        )
        outcomes = _run_together([["ps"] for _ in range(CONCURRENT)], check=False)
        failed = [err for code, err in outcomes if code != 0]
        assert f"{CONCURRENT - len(failed)} of {CONCURRENT}" == f"{CONCURRENT} of {CONCURRENT}", (
            failed[:1]
        )
        assert idp.refreshes == 1
        saved = config.credentials_file().read()["src"]
        assert saved["refresh_token"] in idp.refresh_tokens  # the newest, saved
        assert saved["expires_at"] > time.time() + 60
    finally:
        idp.stop()


#: Saves a token, but stops for good inside the write (after the temporary file is complete).
KILLED_WRITER = """
import os, sys, time
from canfar_core.contexts import Context
real_fsync = os.fsync
def stall(fd):
    real_fsync(fd)
    print("writing", flush=True)
    time.sleep(60)
os.fsync = stall
Context(name="killed", backend="canfar").save_credentials({"token": sys.argv[1]})
"""


def test_a_login_killed_while_saving_leaves_no_token_file_behind(server):
    """kill -9 in the middle of writing credentials: the next save removes what it left."""
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, "cf-LEFTOVER-token"],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    folder = config.config_dir()
    assert any("cf-LEFTOVER-token" in p.read_text() for p in _temporaries(folder))

    done = subprocess.run(
        _canfar("auth", "login", "--url", server.url, "--token-stdin", "--name", "next"),
        input=TOKEN,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert _temporaries(folder) == []
    assert config.credentials_file().read()["next"]["token"] == TOKEN


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_held_lock_is_waited_for_then_named(monkeypatch):
    """Another program holding the lock for long: a clear error, not a silent hang."""
    import fcntl

    monkeypatch.setattr(config, "LOCK_TIMEOUT", 0.3)
    held = os.open(config.private_dir(config.config_dir()), os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from canfar_core import config; config.LOCK_TIMEOUT = 0.3\n"
                "from canfar_core.cli import main; raise SystemExit(main(['config', 'set', "
                "'defaults.image', 'a/b']))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(held)
    assert proc.returncode == 1
    assert "locked by another canfar command" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert config.config_file().read() == {}
    started = time.monotonic()
    config.config_file().write({"defaults": {"image": "a/b"}})  # free again: no wait
    assert time.monotonic() - started < 1
