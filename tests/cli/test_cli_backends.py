"""The session commands end to end on the real backends: the local backend (real processes) and
the canfar backend against the fake Skaha service on loopback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from canfar.sessions import Session
from canfar_core.models import FINAL_STATUSES
from tests.fakeskaha.fixtures import fake_skaha, skaha_context

__all__ = ["fake_skaha", "skaha_context"]

PRINT_ARGS = "import os, sys; print(os.environ['REPLICA_ID'], sys.argv[1:], sep='\\t')"


@pytest.fixture
def local(canfar_home, tmp_path, monkeypatch):
    """The local backend, in a fresh working folder; nothing left running afterwards."""
    monkeypatch.chdir(tmp_path)
    session = Session()
    assert session.context.backend == "local"
    yield session
    leftovers = [s.id for s in session.fetch()]
    if leftovers:
        session.destroy(leftovers)


def test_create_logs_ps_delete_on_the_local_backend(local, run):
    created = run(
        "create",
        "-q",
        "headless",
        "skaha/astroml:latest",
        "-r",
        "2",
        "-n",
        "argv",
        sys.executable,
        "-c",
        PRINT_ARGS,
        "-c",
        "two words",
    )
    assert created.code == 0, created.err
    ids = created.out.split()
    assert len(ids) == 2
    local.wait(ids, status=FINAL_STATUSES, timeout=30, poll=0.05)
    assert run("logs", ids[1]).out == "2\t['-c', 'two words']\n"
    assert set(run("ps", "-q", "--all").out.split()) == set(ids)
    assert run("ps", "-q", "--status", "Completed", "--kind", "headless").out.split() == ids
    deleted = run("delete", "--force", *ids)
    assert (deleted.code, deleted.out.split()) == (0, ids)
    assert run("ps", "-q", "--all").out == ""


def test_create_wait_on_the_local_backend(local, run):
    result = run("create", "--wait", "-q", "headless", "img", "--", sys.executable, "-c", "")
    assert result.code == 0, result.err
    (sid,) = result.out.split()
    state = run("info", "--json", sid)
    assert '"status": "Running"' in state.out or '"status": "Completed"' in state.out


def test_the_installed_command_keeps_ps_quiet_clean(canfar_home):
    result = subprocess.run(
        [sys.executable, "-m", "canfar_core.cli", "ps", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_create_ps_delete_on_the_fake_skaha_service(skaha_context, fake_skaha, run, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    created = run(
        "create",
        "-q",
        "headless",
        "skaha/astroml:latest",
        "-r",
        "3",
        "-n",
        "sky",
        "python",
        "-c",
        "print(4)",
    )
    assert created.code == 0, created.err
    ids = created.out.split()
    assert len(ids) == 3
    posted = fake_skaha.requests_to("POST", "/session")
    assert posted[0].values("args") in (["-c print(4)"], ["-c", "print(4)"])
    assert set(run("ps", "-q", "--all").out.split()) == set(ids)
    result = run("delete", "--force", *ids)
    assert result.code == 0, result.err
    assert run("ps", "-q", "--all").out == ""


def test_bad_id_never_reaches_the_server(skaha_context, fake_skaha, run):
    fake_skaha.clear_requests()
    result = run("delete", "--force", "../context")
    assert result.code == 2
    assert fake_skaha.requests_to() == []
