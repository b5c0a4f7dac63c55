"""Exit codes scripts can rely on: 0 ok, 1 runtime error, 2 usage error, 130 interrupted; and one
error line per failure, never a summary repeating it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakeskaha import wait_until


def test_ok_is_0(run, fake):
    fake.add_session(name="fine")
    result = run("ps", "-q")
    assert (result.code, result.err) == (0, "")


@pytest.mark.parametrize(
    "args",
    [
        ("ps", "--bogus"),
        ("ps", "--watch", "0.01"),
        ("ps", "--json", "--quiet"),
        ("create",),
        ("create", "headless"),
        ("create", "headless", "skaha/astroml", "--replicas", "many"),
        ("logs",),
        ("nonsense",),
        ("completion", "tcsh"),
        ("info", "../x"),
    ],
)
def test_usage_errors_are_2_and_send_nothing(run, fake, args):
    result = run(*args)
    assert result.code == 2, result.err
    assert "Error" in result.err
    assert "Traceback" not in result.err
    assert fake.requests == []


@pytest.mark.parametrize(
    ("args", "fault"),
    [
        (("ps",), {"method": "GET", "path": r"/v1/session$", "status": 500}),
        (("images",), {"method": "GET", "path": r"/v1/image$", "status": 403}),
        (("stats",), {"method": "GET", "path": r"/v1/session$", "status": 401}),
    ],
)
def test_runtime_errors_are_1(run, fake, args, fault):
    fake.inject(**fault, times=None)
    result = run(*args)
    assert result.code == 1
    result.error_line()


def test_info_of_an_unknown_id_is_one_line(run, fake):
    result = run("info", "zzzzzzzz")
    assert result.code == 1
    assert result.err == "Error: session zzzzzzzz not found\n"
    assert result.out == ""


def test_info_names_each_unknown_id_once_and_still_shows_the_others(run, fake):
    known = fake.add_session(name="known")
    result = run("info", "aaaaaaaa", known, "bbbbbbbb")
    assert result.code == 1
    assert result.err.splitlines() == [
        "Error: session aaaaaaaa not found",
        "Error: session bbbbbbbb not found",
    ]
    assert known in result.out
    assert "known" in result.out


def _canfar() -> list[str]:
    script = Path(sys.executable).with_name("canfar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "canfar_core.cli"]


def _interrupt(fake, args: list[str], ready) -> subprocess.CompletedProcess[str]:
    """Run ``canfar ARGS`` in its own process, press Ctrl-C once ``ready()`` holds."""
    proc = subprocess.Popen(
        [*_canfar(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert wait_until(ready, timeout=30), "the command never got going"
        time.sleep(0.2)  # inside its wait, not in the middle of the first request
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_while_watching_is_130_and_says_what_is_running(fake):
    fake.add_session(name="watched")
    done = _interrupt(fake, ["ps", "--watch", "0.5"], lambda: len(fake.requests_to("GET")) >= 1)
    assert done.returncode == 130, done.stderr
    assert "Stopped watching; 1 session(s) still pending or running." in done.stderr
    assert "Traceback" not in done.stderr
    assert "watched" in done.stdout


def test_ctrl_c_while_waiting_for_a_launch_is_130_and_says_how_to_stop_it(fake):
    fake.pending_seconds = 3600  # the sessions stay Pending
    done = _interrupt(
        fake,
        ["create", "headless", "skaha/astroml", "-r", "2", "--wait", "--", "true"],
        lambda: len(fake.requests_to("GET", r"/v1/session")) >= 1,
    )
    assert done.returncode == 130, done.stderr
    ids = [s.id for s in fake.live_sessions()]
    assert len(ids) == 2
    assert "2 of 2 sessions are still pending or running" in done.stderr
    assert "Stop them with: canfar delete" in done.stderr
    assert all(sid in done.stderr for sid in ids)
    assert "Traceback" not in done.stderr
    assert len(fake.requests_to("POST")) == 2  # nothing more was launched or re-sent
