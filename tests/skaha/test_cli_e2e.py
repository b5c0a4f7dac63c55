"""The real ``canfar`` command against the fake Skaha service: log in, launch, look, delete;
and every failure a user meets is one line on stderr with exit code 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from canfar_core import config
from tests.fakeskaha import FakeSkaha

#: The fields the API reference names for ``POST /v1/session``.
CREATE_FIELDS = {"name", "image", "type", "cores", "ram", "gpus", "cmd", "args", "env"}


@pytest.fixture
def logged_in(run, fake_skaha: FakeSkaha) -> FakeSkaha:
    result = run(
        "auth",
        "login",
        "--url",
        fake_skaha.url,
        "--token-stdin",
        "--name",
        "fake",
        stdin=fake_skaha.token + "\n",
    )
    assert result.code == 0, result.err
    return fake_skaha


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_login_create_look_delete(run, logged_in):
    fake = logged_in
    created = run(
        "create",
        "headless",
        "skaha/astroml",
        "--replicas",
        "3",
        "--name",
        "fit",
        "--cores",
        "2",
        "--ram",
        "8",
        "--env",
        "BAND=r",
        "--",
        "python",
        "fit.py",
        "--field",
        "3",
    )
    assert created.code == 0, created.err
    posts = fake.requests_to("POST", r"/v1/session$")
    assert len(posts) == 3
    for request in posts:
        assert request.names() <= CREATE_FIELDS
        assert request.param("image") == "images.canfar.net/skaha/astroml:latest"
        assert request.param("type") == "headless"
        assert request.param("cmd") == "python"
        assert request.param("args") == "fit.py --field 3"
        assert (request.param("cores"), request.param("ram")) == ("2", "8")
        env = request.values("env")
        assert env[0] == "BAND=r"
        assert env[-1] == "REPLICA_COUNT=3"
        replica = int(env[-2].removeprefix("REPLICA_ID="))
        assert request.param("name") == f"fit-{replica}"
        assert request.header("Authorization") == f"Bearer {fake.token}"
    assert sorted(int(r.values("env")[-2][-1]) for r in posts) == [1, 2, 3]

    ps = run("ps", "-q")
    ids = ps.out.split()
    assert ps.code == 0
    assert len(ids) == 3
    assert set(ids) == {s.id for s in fake.live_sessions()}

    table = run("ps")
    for name in ("fit-1", "fit-2", "fit-3"):
        assert name in table.out

    first = ids[0]
    fake.set_logs(first, "fitting field 3\n")
    info = run("info", first)
    assert info.code == 0
    assert first in info.out
    assert "Running" in info.out
    logs = run("logs", first)
    assert (logs.code, logs.out) == (0, "fitting field 3\n")
    events = run("events", first)
    assert events.code == 0
    assert "Scheduled" in events.out

    deleted = run("delete", "--force", *ids)
    assert deleted.code == 0, deleted.err
    assert fake.live_sessions() == []
    assert len(fake.requests_to("DELETE")) == 3
    assert run("ps", "-q").out == ""


def test_login_saves_a_private_context_and_never_prints_the_token(run, fake_skaha):
    result = run(
        "auth", "login", "--url", fake_skaha.url + "/v1/", "--token-stdin", stdin=fake_skaha.token
    )
    assert result.code == 0
    assert fake_skaha.token not in result.out + result.err
    assert "as jdoe" in result.err
    saved = config.config_file().read()
    name = saved["active"]
    assert saved["contexts"][name] == {
        "backend": "canfar",
        "url": fake_skaha.url + "/v1",
        "auth": "token",
    }
    assert fake_skaha.token not in config.config_file().path.read_text()
    credentials = config.credentials_file()
    assert credentials.read()[name] == {"token": fake_skaha.token}
    assert credentials.path.stat().st_mode & 0o777 == 0o600
    # a URL ending in /v1 is used as it is
    run("ps")
    assert fake_skaha.requests[-1].path == "/skaha/v1/session"
    status = run("auth", "status")
    assert fake_skaha.token not in status.out + status.err


def test_ps_with_the_environment_override(run, fake_skaha, monkeypatch):
    fake_skaha.add_session(name="from-env")
    monkeypatch.setenv("CANFAR_URL", fake_skaha.url)
    monkeypatch.setenv("CANFAR_TOKEN", fake_skaha.token)
    result = run("ps")
    assert result.code == 0
    assert "from-env" in result.out


# -- failures: one line, exit 1 -------------------------------------------------------------


def test_refused_token_says_to_log_in_again(run, logged_in):
    logged_in.tokens.clear()
    result = run("ps")
    assert result.code == 1
    line = one_error_line(result.err)
    assert "did not accept your credentials" in line
    assert "canfar auth login" in line


def test_forbidden_user(run, logged_in):
    logged_in.forbidden.add("jdoe")
    result = run("ps")
    assert result.code == 1
    assert "Not authorized to use the skaha system" in one_error_line(result.err)


def test_unknown_id_for_info_and_events(run, logged_in):
    info = run("info", "zzzzzzzz")
    assert info.code == 1
    lines = info.err.strip().splitlines()
    assert lines[0] == "Error: session zzzzzzzz not found"
    assert all(line.startswith("Error: ") for line in lines)
    events = run("events", "zzzzzzzz")
    assert events.code == 1
    assert one_error_line(events.err) == "Error: session zzzzzzzz not found."
    logs = run("logs", "zzzzzzzz")  # the service answers an empty 200
    assert (logs.code, logs.out) == (0, "")


def test_server_error_on_create_is_not_retried(run, logged_in):
    logged_in.inject(
        "POST",
        r"/v1/session$",
        status=500,
        body="unexpected exception: java.lang.IllegalStateException: no nodes",
    )
    result = run("create", "headless", "skaha/astroml", "--", "true")
    assert result.code == 1
    line = one_error_line(result.err)
    assert "HTTP 500" in line
    assert "no nodes" in line
    assert len(logged_in.requests_to("POST")) == 1


def test_connection_refused(run, canfar_home, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CANFAR_URL", f"http://127.0.0.1:{port}/skaha")
    monkeypatch.setenv("CANFAR_TOKEN", "t")
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    result = run("ps")
    assert result.code == 1
    assert one_error_line(result.err) == (
        f"Error: cannot connect to 127.0.0.1:{port}: connection refused"
    )


def test_timeout(run, logged_in, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.2")
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "0")
    logged_in.inject("GET", r"/v1/session$", delay=0.6)
    result = run("ps")
    assert result.code == 1
    assert "did not answer within 0.2 s" in one_error_line(result.err)


def test_non_json_body(run, logged_in):
    logged_in.inject(
        "GET",
        r"/v1/session$",
        body="<html><body>Maintenance</body></html>",
        content_type="text/html",
    )
    result = run("ps")
    assert result.code == 1
    assert "not JSON" in one_error_line(result.err)


def test_env_value_the_server_would_drop(run, logged_in):
    result = run("create", "headless", "skaha/astroml", "--env", "Q=a=b", "--", "env")
    assert result.code == 2
    assert "drops" in one_error_line(result.err)
    assert logged_in.requests_to("POST") == []


def test_the_installed_console_script(logged_in):
    """One run of the real entry point in its own process (the rest run in-process)."""
    script = Path(sys.executable).with_name("canfar")
    logged_in.add_session(name="seen-by-subprocess")
    done = subprocess.run(
        [str(script), "ps"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "seen-by-subprocess" in done.stdout
    logged_in.tokens.clear()
    done = subprocess.run(
        [str(script), "ps"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 1
    assert one_error_line(done.stderr).startswith("Error: 127.0.0.1")
