"""Deleting local sessions ends every process of every replica, and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.failures import reasons_of
from tests.local.conftest import group_pids, linux_only, wait_final, wait_for


def _running(session, ids):
    return session.wait(ids, status="Running", timeout=10, poll=0.02)


@linux_only
def test_delete_leaves_no_process_of_the_group_behind(session):
    # A shell with a background child and a foreground grandchild: three processes per group.
    ids = session.create(
        image="img/x:1", cmd="sh", args=["-c", "sleep 300 & sleep 300; wait"], replicas=2
    )
    _running(session, ids)
    groups = [session.info(i, errors="raise")[0].extra["pgid"] for i in ids]
    wait_for(lambda: all(len(group_pids(g)) >= 3 for g in groups), what="the sleeps to start")
    assert reasons_of(session.destroy, ids) == {ids[0]: None, ids[1]: None}
    for pgid in groups:
        # Every process of the group is gone (exited children may wait a moment as zombies
        # for init to collect them: they run nothing and are not counted).
        assert group_pids(pgid) == []
    assert session.fetch() == []


@linux_only
def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(session):
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(300)\n"
    )
    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    wait_for(
        lambda: session.logs(session_id, errors="raise")[session_id] == "ready\n",
        what="the replica to start",
    )
    pgid = session.info(session_id, errors="raise")[0].extra["pgid"]
    started = time.monotonic()
    assert reasons_of(session.destroy, session_id) == {session_id: None}
    assert time.monotonic() - started >= session.backend.grace
    assert group_pids(pgid) == []


def test_delete_reports_unknown_ids_and_deletes_the_others(session, state_root):
    [session_id] = session.create(image="img/x:1", cmd="sleep", args=["300"])
    result = reasons_of(session.destroy, ["zzzzzzzz", session_id])
    assert result == {"zzzzzzzz": "not found", session_id: None}
    assert list(result) == ["zzzzzzzz", session_id]
    assert not (state_root / "logs" / f"{session_id}.log").exists()


def test_finished_sessions_are_deleted_with_their_logs(session, state_root):
    ids = session.create(image="img/x:1", cmd="echo", args=["x"], replicas=2)
    wait_final(session, ids)
    assert session.destroy_with(kind="headless", status="Completed") == dict.fromkeys(ids, True)
    assert session.fetch() == []
    assert list((state_root / "logs").iterdir()) == []


@linux_only
def test_delete_never_kills_a_process_that_reused_the_pid(session, state_root):
    """A recorded group whose leader pid now belongs to someone else is left alone."""
    from canfar_plugins.local.state import Store

    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        [session_id] = session.create(image="img/x:1", cmd="sleep", args=["300"])
        mine = session.info(session_id, errors="raise")[0].extra["pgid"]
        os.killpg(mine, signal.SIGKILL)
        # Pretend the kernel handed our pid to the stranger: same pid, another start time.
        Store(state_root).update([(session_id, {"pgid": stranger.pid, "start_mark": "1"})])
        assert session.info(session_id, errors="raise")[0].status == "Failed"
        assert reasons_of(session.destroy, session_id) == {session_id: None}
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
