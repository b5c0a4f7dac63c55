"""The local backend tells the truth when things go wrong around its replicas: a ``delete``
killed part way, output that is not UTF-8, an exit code that could not be written, a damaged
database, a child that leaves its session and clears its environment. Real ``canfar``
commands, real replicas, the real SQLite file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.namespaces import FILL, needs_namespace, run_script
from tests.faults.replicas import tagged, tagged_sessions
from tests.local.conftest import canfar_command, linux_only, wait_for


def canfar(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        canfar_command(*args), capture_output=True, text=True, timeout=timeout, check=False
    )


def create(tag: str, *command: str, replicas: int = 1) -> list[str]:
    made = canfar(
        "create",
        "headless",
        "img/x:1",
        "-q",
        "-r",
        str(replicas),
        "--env",
        f"CANFAR_TEST_TAG={tag}",
        "--",
        *command,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.split()


def info(session_id: str) -> dict:
    shown = canfar("info", "--json", session_id)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)[0]


@pytest.fixture
def state_db(hermetic: Path) -> Path:
    from canfar_core.config import state_dir

    return state_dir() / "local" / "sessions.sqlite3"


def statuses_saved(db: Path) -> set[str]:
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT status FROM sessions")}


# -- 5: a delete interrupted during its grace period ---------------------------------------------


@linux_only
@pytest.mark.slow
def test_sessions_of_a_delete_killed_during_its_grace_are_listed_and_stopped_by_the_next(
    tag, state_db
):
    ids = create(tag, "sh", "-c", 'trap "" TERM; sleep 120', replicas=2)
    wait_for(lambda: len(tagged_sessions(tag)) == 2, what="both replicas to run")
    deleting = subprocess.Popen(
        canfar_command("delete", "--all", "-f"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:  # SIGTERM is ignored: the delete waits out its grace period, and is killed in it
        wait_for(lambda: statuses_saved(state_db) == {"Terminating"}, what="the delete to start")
        time.sleep(0.3)
    finally:
        deleting.kill()
        deleting.communicate()
    assert len(tagged_sessions(tag)) == 2

    listed = canfar("ps", "-q")
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(ids)
    stats = json.loads(canfar("stats", "--json").stdout)
    assert stats["sessions_running"] == 2

    again = canfar("delete", "--all", "-f")
    assert again.returncode == 0, again.stderr
    assert "Deleted 2 sessions" in again.stderr
    assert tagged(tag) == []
    assert canfar("ps", "--all", "-q").stdout == ""


# -- 9: output that is not UTF-8 ------------------------------------------------------------------

RAW = b"caf\xe9\xff\nline two \xc3\xa9\n"


def test_logs_keep_bytes_that_are_not_utf8(tag, tmp_path: Path):
    first, second = (
        create(tag, "sh", "-c", r"printf 'caf\351\377\nline two \303\251\n'")[0] for _ in range(2)
    )
    wait_for(lambda: info(second)["status"] == "Completed", what="the replicas to end")
    wait_for(lambda: info(first)["status"] == "Completed", what="the replicas to end")

    def raw(*args: str) -> bytes:
        done = subprocess.run(canfar_command(*args), capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert raw("logs", first) == RAW
    assert raw("logs", "-f", first) == RAW
    assert raw("logs", first, second) == b"==> %s <==\n%s\n==> %s <==\n%s" % (
        first.encode(),
        RAW,
        second.encode(),
        RAW,
    )
    raw("logs", "-o", str(tmp_path / "saved"), first, second)
    assert [f.read_bytes() for f in sorted((tmp_path / "saved").iterdir())] == [RAW, RAW]


# -- 15: no exit code recorded -------------------------------------------------------------------


@linux_only
def test_a_replica_whose_exit_code_was_not_recorded_is_not_given_an_invented_cause(tag):
    [session_id] = create(tag, "sleep", "300")
    wait_for(lambda: len(tagged(tag)) == 2, what="the wrapper and its command")
    for pid in tagged(tag):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: info(session_id)["status"] != "Running", what="the replica to end")
    shown = info(session_id)
    assert shown["status"] == "Failed"
    assert shown["exitCode"] is None
    reason = shown["extra"]["reason"]
    assert reason == "the process ended without recording an exit code"
    assert "restarted" not in reason
    assert "killed" not in reason


#: In a mount namespace of its own: the state folder on a 16 MB tmpfs, a replica that waits for
#: a file, the disk filled to the last byte, then the file made: the replica exits 0.
ON_A_FULL_DISK = (
    FILL
    + """
import json, os, subprocess, sys, time
state = os.environ["XDG_STATE_HOME"]
canfar = json.loads(sys.argv[1])
go = sys.argv[2]
os.makedirs(state, exist_ok=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", state], check=True)
made = subprocess.run([*canfar, "create", "headless", "img/x:1", "-q", "--env", sys.argv[3], "--",
                       "sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; exit 0"],
                      capture_output=True, text=True, timeout=60)
session_id = made.stdout.strip()
fill(state)
free = os.statvfs(state).f_bavail
open(go, "w").close()
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    shown = subprocess.run([*canfar, "info", "--json", session_id], capture_output=True,
                           text=True, timeout=60)
    entry = json.loads(shown.stdout or "[{}]")[0]
    if entry.get("status") not in (None, "Running", "Pending"):
        break
    time.sleep(0.1)
print(json.dumps({"id": session_id, "free": free, "made": made.stderr, "info": entry,
                  "err": shown.stderr}))
"""
)


@linux_only
@needs_namespace
def test_a_replica_that_exits_0_on_a_full_disk_is_completed(tag, tmp_path: Path):
    seen = run_script(ON_A_FULL_DISK, str(tmp_path / "go"), f"CANFAR_TEST_TAG={tag}")
    assert seen["free"] == 0
    shown = seen["info"]
    assert (shown.get("status"), shown.get("exitCode")) == ("Completed", 0), seen


# -- 17: a damaged database; a child that escapes ------------------------------------------------


@linux_only
def test_a_damaged_database_says_how_to_recover_and_delete_still_stops_by_marker(tag, state_db):
    [session_id] = create(tag, "sleep", "300")
    canfar("ps")  # saved, checkpointed: the file holds the rows
    with sqlite3.connect(state_db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(state_db.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page but the header's: garbage
        data[start : start + page] = b"\xa5" * page
    state_db.write_bytes(bytes(data))

    listed = canfar("ps", "-q")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [session_id]
    assert "damaged" in listed.stderr
    assert f"mv {state_db} " in listed.stderr
    assert "Traceback" not in listed.stderr

    deleted = canfar("delete", "--all", "-f")
    assert deleted.returncode == 0, deleted.stderr
    assert tagged(tag) == []


def _escaped(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@linux_only
def test_a_child_that_left_the_group_and_cleared_its_environment_is_stopped(tag):
    seconds = f"301.{uuid.uuid4().int % 10**6:06d}"  # names this test's escaped child
    [session_id] = create(tag, "sh", "-c", f"setsid env -i sleep {seconds} & sleep 300")
    wait_for(lambda: _escaped(seconds), what="the escaped child")
    try:
        deleted = canfar("delete", "-f", session_id)
        assert deleted.returncode == 0, deleted.stderr
        assert _escaped(seconds) == []
    finally:
        for pid in _escaped(seconds):
            os.kill(pid, signal.SIGKILL)


def test_a_wrapper_that_stopped_on_its_own_error_says_so_with_the_shell_s_words(tag):
    """The wrapper's shell stops on an error of its own before the command ends (as when it
    cannot fork the command: "Cannot fork"; here a bad ``exit``, which the shell runs itself):
    said so, with the shell's message, and no cause invented."""
    [session_id] = create(tag, "exit", "abc")
    wait_for(lambda: info(session_id)["status"] != "Running", what="the wrapper to stop")
    shown = info(session_id)
    assert (shown["status"], shown["exitCode"]) == ("Failed", None)
    reason = shown["extra"]["reason"]
    assert reason.startswith(
        "the process ended without recording an exit code: its wrapper stopped before the "
        "command ended (canfar-replica: "
    ), reason
    assert "Illegal number: abc" in reason
    assert "restarted" not in reason


#: The pids controller of cgroup v1, where a group limits how many processes its members have.
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")


def _pids_cgroup_works() -> bool:
    probe = PIDS_CGROUP / f"canfar-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    probe.rmdir()
    return True


@linux_only
@pytest.mark.skipif(not _pids_cgroup_works(), reason="needs a cgroup v1 pids controller to write")
def test_a_wrapper_that_cannot_fork_says_so_and_no_cause_is_invented(tag):
    """``canfar create`` in a process group allowed 2 processes: canfar and the replica's
    wrapper; the wrapper cannot fork its command."""
    group = PIDS_CGROUP / f"canfar-test-{tag}"
    group.mkdir()
    try:
        (group / "pids.max").write_text("2")
        made = subprocess.run(
            [
                "sh",
                "-c",
                f'echo $$ > {group / "cgroup.procs"}; exec "$@"',
                "sh",
                *canfar_command("create", "headless", "img/x:1", "-q", "--", "/bin/true"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        session_id = made.stdout.strip()
        wait_for(lambda: info(session_id)["status"] != "Running", what="the wrapper to stop")
    finally:
        group.rmdir()
    shown = info(session_id)
    assert (shown["status"], shown["exitCode"]) == ("Failed", None)
    assert shown["extra"]["reason"] == (
        "the process ended without recording an exit code: its wrapper stopped before the "
        "command ended (canfar-replica: 1: Cannot fork)"
    )
