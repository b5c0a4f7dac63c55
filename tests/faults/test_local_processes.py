"""The local backend under faults: a launch killed with ``kill -9``, and replicas whose children
detach. Real ``canfar`` processes, real replicas, the real SQLite file.

Figures: processes left after ``kill -9`` of ``create --replicas 256`` then ``delete``: 0;
detached children (``setsid``, double fork) left after ``delete``: 0.

Each replica gets a variable unique to the test, so the processes counted are this test's, even
with other canfar sessions on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.faults.replicas import tagged, tagged_sessions
from tests.local.conftest import canfar_command, linux_only, wait_for


def start_launch(tag: str, replicas: int, capture: bool = False) -> subprocess.Popen[str]:
    """``canfar create`` of ``replicas`` tagged ``sleep 300`` replicas, running in the background;
    its output captured as text when ``capture``, else discarded."""
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        canfar_command(
            "create",
            "headless",
            "img/x:1",
            "-r",
            str(replicas),
            "--env",
            f"CANFAR_TEST_TAG={tag}",
            "--",
            "sleep",
            "300",
        ),
        stdout=stream,
        stderr=stream,
        text=True,
    )


def canfar(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        canfar_command(*args), capture_output=True, text=True, timeout=timeout, check=False
    )


def delete_everything() -> subprocess.CompletedProcess[str]:
    listed = canfar("ps", "--all", "-q")
    assert listed.returncode == 0, listed.stderr
    return canfar("delete", "--force", *listed.stdout.split())


@linux_only
@pytest.mark.slow
def test_kill_9_of_create_256_then_delete_leaves_0_processes(tag):
    launch = start_launch(tag, 256)
    try:
        wait_for(lambda: len(tagged(tag)) >= 20, timeout=30, what="20 replicas to start")
    finally:
        launch.kill()  # SIGKILL: no finally block, no handler runs in canfar
        launch.wait(10)
    running = tagged_sessions(tag)
    assert len(running) >= 10

    listed = canfar("ps", "-q")
    assert listed.returncode == 0, listed.stderr
    assert running <= set(listed.stdout.split()), "ps must show every replica that runs"

    deleted = delete_everything()
    assert deleted.returncode == 0, deleted.stderr
    left = tagged(tag)
    assert f"{len(left)} processes left" == "0 processes left", left
    assert canfar("ps", "--all", "-q").stdout.split() == []


#: A replica whose children leave its process group: one with ``setsid``, one by a double fork
#: into a new session, and a plain background child.
DETACHING = (
    "setsid sleep 300 & ( setsid sh -c 'sleep 300 & exit 0' & ) ; sleep 300 & echo started; wait"
)


@linux_only
def test_delete_stops_children_that_detached_and_leaves_0(tag):
    made = canfar(
        "create",
        "headless",
        "img/x:1",
        "-q",
        "--env",
        f"CANFAR_TEST_TAG={tag}",
        "--",
        "sh",
        "-c",
        DETACHING,
    )
    assert made.returncode == 0, made.stderr
    [session_id] = made.stdout.split()
    # The wrapper, the sh, three sleeps (the double-forked one's parent has exited).
    wait_for(lambda: len(tagged(tag)) >= 5, what="the replica's children to start")
    deleted = canfar("delete", "--force", session_id)
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted 1 session" in deleted.stderr
    assert deleted.stdout.split() == [session_id]
    left = tagged(tag)
    assert f"{len(left)} processes left" == "0 processes left", left


@linux_only
def test_a_finished_replica_s_detached_child_is_stopped_by_delete(tag):
    """The command exits at once, leaving a daemon behind: the session is Completed, and
    deleting it still stops the daemon."""
    made = canfar(
        "create",
        "headless",
        "img/x:1",
        "-q",
        "--env",
        f"CANFAR_TEST_TAG={tag}",
        "--",
        "sh",
        "-c",
        "setsid sleep 300 & exit 0",
    )
    assert made.returncode == 0, made.stderr
    [session_id] = made.stdout.split()
    wait_for(lambda: "Completed" in canfar("info", session_id).stdout, what="the command to end")
    assert len(tagged(tag)) == 1
    deleted = canfar("delete", "--force", session_id)
    assert deleted.returncode == 0, deleted.stderr
    assert tagged(tag) == []


@linux_only
@pytest.mark.slow
def test_ps_after_a_killed_launch_shows_the_replicas_as_running_at_once(tag):
    """Replicas a killed ``create`` never recorded are found by their marker: Running, with
    their process group, not Pending until a timeout."""
    launch = start_launch(tag, 64)
    try:
        # Replicas, not processes: a replica is its wrapper and the command it runs.
        wait_for(lambda: len(tagged_sessions(tag)) >= 4, timeout=30, what="4 replicas to start")
    finally:
        launch.kill()
        launch.wait(10)
    time.sleep(0.2)
    started = tagged_sessions(tag)  # every replica whose process exists, now nothing starts
    listed = canfar("ps", "--all", "-q")
    assert listed.returncode == 0, listed.stderr
    shown = canfar("info", "--json", *listed.stdout.split())  # with each one's process group
    assert shown.returncode == 0, shown.stderr
    import json

    sessions = json.loads(shown.stdout)
    running = [s for s in sessions if s["status"] == "Running"]
    assert len(started) >= 4
    assert started <= {s["id"] for s in running}, [
        (s["status"], s["extra"].get("reason")) for s in sessions
    ]
    assert all(s["extra"]["pgid"] for s in running)
    # Those never started are said to be so, without waiting for a timeout.
    assert {s["status"] for s in sessions} <= {"Running", "Failed"}
    delete_everything()


@linux_only
@pytest.mark.slow
def test_deleting_during_a_launch_leaves_0_processes(tag):
    """``delete`` run again and again while ``create`` is starting replicas: whatever the
    interleaving, nothing is left running and nothing is left listed."""
    launch = start_launch(tag, 64)
    wait_for(lambda: tagged(tag), timeout=30, what="a first replica")
    while launch.poll() is None:
        delete_everything()
    delete_everything()
    assert tagged(tag) == []
    assert canfar("ps", "--all", "-q").stdout.split() == []


@linux_only
@pytest.mark.slow
def test_ctrl_c_in_local_create_r100_prints_every_id_that_exists(tag):
    """Ctrl-C part way through ``create -r 100``: every session that exists is printed, and
    every process running belongs to a printed session."""
    launch = start_launch(tag, 100, capture=True)
    try:
        wait_for(lambda: len(tagged_sessions(tag)) >= 5, timeout=30, what="5 replicas")
        launch.send_signal(signal.SIGINT)
        out, err = launch.communicate(timeout=30)
    finally:
        if launch.poll() is None:
            launch.kill()
            launch.communicate()
    assert launch.returncode == 130, err
    assert "Traceback" not in err
    printed = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    existing = set(canfar("ps", "--all", "-q").stdout.split())
    assert existing, err
    assert printed == existing, out + err
    assert tagged_sessions(tag) <= printed
    assert f"{len(existing)} of 100 replicas launched" in err
    delete_everything()


@linux_only
@pytest.mark.slow
def test_a_process_delete_cannot_stop_is_named_and_the_session_kept(tag, run, monkeypatch):
    """A detached child that may not be signalled (another user's, say: simulated here by
    refusing signals to its pid, as the kernel would): delete names it, exits 1, keeps the
    session, and deletes it once the child is gone."""
    from canfar_plugins.local import processes

    made = run(
        "create",
        "headless",
        "img/x:1",
        "-q",
        "--env",
        f"CANFAR_TEST_TAG={tag}",
        "--",
        "sh",
        "-c",
        "setsid sleep 300 & echo started; wait",
    )
    assert made.code == 0, made.err
    session_id = made.out.strip()

    def detached() -> list[int]:
        return [pid for pid in tagged(tag) if _comm(pid) == "sleep" and _own_session(pid)]

    wait_for(detached, what="the detached child")  # setsid has run and exec'd sleep
    [child] = detached()
    real_kill = os.kill

    def refusing(pid: int, signum: int) -> None:
        if pid == child and signum != 0:
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, signum)

    with monkeypatch.context() as patch:
        patch.setattr(processes.os, "kill", refusing)
        patch.setattr(processes.os, "killpg", lambda pgid, signum: refusing(pgid, signum))
        result = run("delete", "--force", session_id)
    assert result.code == 1
    line = result.error_line()
    assert session_id in line
    assert f"could not stop 1 of its processes (pid {child})" in line
    assert run("ps", "--all", "-q").out.split() == [session_id]
    real_kill(child, signal.SIGKILL)
    wait_for(lambda: not tagged(tag), what="the child to go")
    assert run("delete", "--force", session_id).code == 0


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _own_session(pid: int) -> bool:
    try:
        return os.getsid(pid) == pid
    except OSError:
        return False
