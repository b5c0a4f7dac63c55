"""Ctrl-C against a server that stops answering: the command stops within about a second and
says what exists. Real ``canfar`` processes, the fake service on loopback.

Figures: seconds from Ctrl-C to exit against a silent server (at most 2); duplicates after
following any printed hint (0).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from canfar_plugins.skaha.client import MAX_CONCURRENCY
from tests.fakeskaha.server import wait_until

SESSION_LIST = r"/v1/session$"
#: The most seconds from Ctrl-C to exit, against a server that answers nothing.
CTRL_C_TO_EXIT = 2.0
#: Create requests sent when the server answers the first ten and then hangs: those ten, and
#: as many more as the launch holds in flight.
SENT = 10 + MAX_CONCURRENCY


def _canfar() -> list[str]:
    script = Path(sys.executable).with_name("canfar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "canfar_core.cli"]


def interrupt(args: list[str], ready) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``canfar ARGS``, press Ctrl-C once ``ready()`` holds; the outcome and the seconds
    from Ctrl-C to exit."""
    proc = subprocess.Popen(
        [*_canfar(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert wait_until(ready, timeout=30), "the command never got going"
        time.sleep(0.2)
        pressed = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - pressed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), took


def test_ctrl_c_in_ps_against_a_silent_server_exits_within_2_seconds(fake):
    fake.inject("GET", SESSION_LIST, delay=60, times=None)
    done, took = interrupt(["ps"], lambda: len(fake.requests_to("GET")) >= 1)
    assert done.returncode == 130, done.stderr
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    assert "Traceback" not in done.stderr


def test_ctrl_c_in_delete_exits_within_2_seconds_and_says_what_was_deleted(fake):
    first = fake.add_session(name="one")
    second = fake.add_session(name="two")
    fake.inject("DELETE", r"/v1/session/", times=1)  # one answers at once
    fake.inject("DELETE", r"/v1/session/", delay=60, times=None)  # the other never does
    done, took = interrupt(
        ["delete", "--force", first, second], lambda: len(fake.requests_to("DELETE")) >= 2
    )
    assert done.returncode == 130, done.stderr
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    assert "Traceback" not in done.stderr
    gone = {first, second} - {s.id for s in fake.live_sessions()}
    assert len(gone) == 1, fake.live_sessions()
    (deleted,) = gone
    (kept,) = {first, second} - gone
    assert f"Deleted 1: {deleted}" in done.stderr
    assert f"May or may not be deleted (1, their request was under way): {kept}" in done.stderr
    assert "Check with: canfar ps" in done.stderr


def test_ctrl_c_in_create_r100_prints_every_id_that_exists_and_0_duplicates_after_the_hint(
    fake, run
):
    """The server creates every session it is sent but stops answering after the tenth: the
    ids of all the sessions that exist are printed (found by name), those never sent are
    named, and following the printed hint launches exactly the missing ones."""
    fake.inject("POST", SESSION_LIST, times=10)  # faults apply in order: ten normal answers
    fake.inject("POST", SESSION_LIST, delay_after=60, times=None)
    args = ["create", "headless", "skaha/astroml", "--name", "fit", "-r", "100", "--", "true"]
    done, took = interrupt(args, lambda: len(fake.requests_to("POST")) >= SENT)
    assert done.returncode == 130, done.stderr
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    assert "Traceback" not in done.stderr
    existing = {s.id: s.name for s in fake.live_sessions()}
    printed = set(re.findall(r"^(\S+)\s+fit-\d+", done.stdout, re.MULTILINE))
    assert printed == set(existing), done.stdout + done.stderr
    hint = re.search(r"add --only-replicas (\S+) to the same command", done.stderr)
    assert hint, done.stderr
    fake.clear_faults()
    result = run(*args[:-2], "--only-replicas", hint.group(1), "-q", "--", "true")
    assert result.code == 0, result.err
    names = Counter(s.name for s in fake.live_sessions())
    duplicates = sum(count - 1 for count in names.values())
    assert duplicates == 0, names
    assert set(names) == {f"fit-{k}" for k in range(1, 101)}


API_LAUNCH = """
import json
from canfar.errors import LaunchInterrupted
from canfar.sessions import Session

try:
    Session().create(name="api", image="skaha/astroml", cmd="true", replicas=100)
except LaunchInterrupted as err:
    print(json.dumps({"ids": err.ids, "uncertain": sorted(err.uncertain),
                      "not_sent": err.not_sent, "interrupt": isinstance(err, KeyboardInterrupt)}))
"""


def test_ctrl_c_in_the_python_api_launch_gives_the_caller_every_id_that_exists(fake):
    fake.inject("POST", SESSION_LIST, times=10)
    fake.inject("POST", SESSION_LIST, delay_after=60, times=None)
    proc = subprocess.Popen(
        [sys.executable, "-c", API_LAUNCH],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert wait_until(lambda: len(fake.requests_to("POST")) >= SENT, timeout=30)
        time.sleep(0.2)
        pressed = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - pressed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    report = json.loads(out)
    assert report["interrupt"] is True
    assert sorted(report["ids"]) == sorted(s.id for s in fake.live_sessions())
    assert len(report["ids"]) == SENT
    assert report["not_sent"] == list(range(SENT + 1, 101))
    assert report["uncertain"] == []


@pytest.mark.parametrize("output", ["-q", "--json"])
def test_ctrl_c_while_waiting_still_prints_the_ids_with_q_and_json(fake, output):
    fake.pending_seconds = 3600  # the sessions stay Pending
    args = ["create", "headless", "skaha/astroml", "-r", "2", "--wait", output, "--", "true"]
    done, took = interrupt(args, lambda: len(fake.requests_to("GET")) >= 1)
    assert done.returncode == 130, done.stderr
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    ids = sorted(s.id for s in fake.live_sessions())
    if output == "-q":
        assert sorted(done.stdout.split()) == ids
    else:
        assert sorted(json.loads(done.stdout)) == ids  # create --json: the ids


def test_a_launch_interrupted_after_its_last_replica_does_not_go_on_to_wait(fake, run, monkeypatch):
    """A backend may be interrupted when every replica has started: nothing is missing, but
    the command still stops there (exit 130) instead of waiting, and prints the ids."""
    from canfar_core.errors import LaunchInterrupted
    from canfar_plugins.skaha.client import SkahaBackend

    def interrupted_after_all(self, spec):
        ids = [fake.add_session(name=spec.replica_name(k)) for k in spec.replica_numbers()]
        raise LaunchInterrupted("interrupted", ids=ids, failures={})

    monkeypatch.setattr(SkahaBackend, "create", interrupted_after_all)
    result = run("create", "headless", "skaha/astroml", "-r", "2", "--wait", "-q", "--", "true")
    assert result.code == 130
    assert sorted(result.out.split()) == sorted(s.id for s in fake.live_sessions())
    assert fake.requests_to("GET", r"/v1/session") == []
