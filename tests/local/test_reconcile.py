"""Sessions whose processes died behind canfar's back are reported, never lost."""

from __future__ import annotations

import os
import signal
import sys
import time

from tests.failures import reasons_of
from tests.local.conftest import group_pids, linux_only, wait_final, wait_for


def test_a_killed_process_group_is_failed_with_no_exit_code(session):
    """Wrapper and command killed together (as by an OOM killer or a reboot): no code is known."""
    [session_id] = session.create(image="img/x:1", cmd="sleep", args=["300"])
    session.wait([session_id], status="Running", timeout=10, poll=0.02)
    os.killpg(session.info(session_id, errors="raise")[0].extra["pgid"], signal.SIGKILL)
    info = wait_final(session, [session_id])[session_id]
    assert info.status == "Failed"
    assert info.exit_code is None
    assert "without recording an exit code" in info.extra["reason"]
    assert "Lost" in session.events(session_id, errors="raise")[0][session_id]
    assert [s.id for s in session.fetch(status="Failed")] == [session_id]


@linux_only
def test_a_command_killed_by_a_signal_is_failed_with_128_plus_the_signal(session):
    [session_id] = session.create(image="img/x:1", cmd="sleep", args=["300"])
    pgid = session.info(session_id, errors="raise")[0].extra["pgid"]
    wait_for(lambda: len(group_pids(pgid)) == 2, what="sleep to start")
    [sleeper] = [pid for pid in group_pids(pgid) if pid != pgid]
    os.kill(sleeper, signal.SIGKILL)  # the command, not its wrapper: the code is recorded
    info = wait_final(session, [session_id])[session_id]
    assert (info.status, info.exit_code) == ("Failed", 137)
    assert "SIGKILL" in info.extra["reason"]


@linux_only
def test_a_killed_wrapper_leaves_the_command_running_then_failed(session, tmp_path):
    # The command runs until the test lets it finish (30 s at most), however busy the machine.
    go = tmp_path / "go"
    code = (
        "import os, time\nfor _ in range(1500):\n"
        f"    if os.path.exists({str(go)!r}):\n        break\n    time.sleep(0.02)\n"
        "print('finished', flush=True)\n"
    )
    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    pgid = session.info(session_id, errors="raise")[0].extra["pgid"]
    wait_for(lambda: len(group_pids(pgid)) >= 2, what="python to start")
    os.kill(pgid, signal.SIGKILL)  # the wrapper alone
    time.sleep(0.05)
    assert session.info(session_id, errors="raise")[0].status == "Running"  # its command still runs
    go.touch()
    info = wait_final(session, [session_id])[session_id]
    assert (info.status, info.exit_code) == ("Failed", None)
    assert session.logs(session_id, errors="raise")[session_id] == "finished\n"


def test_an_interrupted_launch_is_failed_not_pending_forever(session, state_root, workdir):
    from canfar_plugins.local.state import Record, Store

    store = Store(state_root)
    store.insert(
        [
            Record(
                id="abandon1",
                name="lost",
                kind="headless",
                image="img/x:1",
                status="Pending",
                replica=1,
                replicas=1,
                command=["true"],
                workdir=str(workdir),
                runtime="host",
                created=time.time() - 3600,
            )
        ]
    )
    info = session.info("abandon1", errors="raise")[0]
    assert info.status == "Failed"
    assert "interrupted" in info.extra["reason"]
    assert reasons_of(session.destroy, "abandon1") == {"abandon1": None}


def test_the_database_survives_a_new_backend_and_a_new_process(session, state_root):
    """State is on disk: a fresh Session (as a new canfar command) sees the same sessions."""
    from canfar.sessions import Session

    ids = session.create(image="img/x:1", cmd="true", replicas=2)
    wait_final(session, ids)
    assert [s.id for s in Session(backend="local").fetch()] == ids
