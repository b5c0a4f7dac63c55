"""The local backend's SQLite file under faults: damaged rows, a database another program has
locked, a read-only database. Real ``canfar`` commands on a real SQLite file; the
replicas are real processes.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.namespaces import FILL, needs_namespace, run_script
from tests.faults.replicas import tagged


@pytest.fixture
def state_db(canfar_home: Path) -> Path:
    from canfar_core.config import state_dir

    return state_dir() / "local" / "sessions.sqlite3"


def _damage(db: Path, session_id: str, column: str, value: object) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", (value, session_id))


def _create(run, tag: str, *command: str) -> str:
    made = run(
        "create", "headless", "img/x:1", "-q", "--env", f"CANFAR_TEST_TAG={tag}", "--", *command
    )
    assert made.code == 0, made.err
    return made.out.strip()


DAMAGE = [
    ("command", "not json"),
    ("pgid", "x"),
    ("created", "yesterday"),
    ("extra", "[1, 2"),
    ("replica", "one"),
    ("status", "Banana"),
]


@pytest.mark.parametrize(("column", "value"), DAMAGE, ids=[c for c, _ in DAMAGE])
def test_a_damaged_row_is_named_and_every_other_command_works(run, state_db, tag, column, value):
    healthy = _create(run, tag, "true")
    damaged = _create(run, tag, "sleep", "300")
    _damage(state_db, damaged, column, value)

    listed = run("ps", "--all", "-q")
    assert listed.code == 0, listed.err
    assert listed.out.split() == [healthy]
    warning = [line for line in listed.err.splitlines() if damaged in line]
    assert len(warning) == 1, listed.err
    assert column in warning[0]
    assert f"canfar delete {damaged}" in warning[0]

    info = run("info", damaged)
    assert info.code == 1
    line = info.error_line()
    assert column in line
    assert f"canfar delete {damaged}" in line
    assert "unexpected" not in info.err
    assert run("info", healthy).code == 0

    # The damaged replica's processes are still found (by their marker) and stopped.
    assert tagged(tag)
    deleted = run("delete", "--force", damaged, healthy)
    assert deleted.code == 0, deleted.err
    assert "Deleted 2 sessions" in deleted.err
    assert tagged(tag) == []
    assert run("ps", "--all", "-q").out == ""


# -- a database another program holds ----------------------------------------------------------


def test_a_locked_database_is_waited_for_then_named_not_30_s_silently(
    run, state_db, tag, monkeypatch
):
    from canfar_plugins.local import state

    monkeypatch.setattr(state, "LOCK_WAIT", 1.0, raising=False)
    session_id = _create(run, tag, "sleep", "300")
    holder = sqlite3.connect(state_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing, and not finishing
    try:
        shown = run("ps", "-q")  # reading needs no lock: it works at once
        assert shown.code == 0, shown.err
        assert shown.out.split() == [session_id]

        started = time.monotonic()
        deleted = run("delete", "--force", session_id)
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert took < 5
    assert deleted.code == 1
    assert "waiting" in deleted.err.lower()  # said at once, not after the wait
    line = deleted.err.strip().splitlines()[-1]
    assert str(state_db) in line
    assert "locked" in line
    assert run("delete", "--force", session_id).code == 0  # free again: it works
    assert tagged(tag) == []


def test_ps_shows_the_truth_while_another_program_holds_the_database(
    run, state_db, tag, monkeypatch
):
    """A replica ended; ps cannot save that (the database is locked) but shows it anyway."""
    from canfar_plugins.local import state

    monkeypatch.setattr(state, "LOCK_WAIT", 5.0, raising=False)
    session_id = _create(run, tag, "true")
    for _ in range(100):
        if not tagged(tag):
            break
        time.sleep(0.02)
    holder = sqlite3.connect(state_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        shown = run("ps", "--all", "--json")
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert shown.code == 0, shown.err
    assert took < 4  # it did not wait for the database (that would be 5 s)
    import json

    [entry] = json.loads(shown.out)
    assert (entry["id"], entry["status"]) == (session_id, "Completed")


# -- a full disk, a read-only disk ---------------------------------------------------------------
#
# Real file systems: a small tmpfs filled to the last byte, and a read-only bind mount, each in a
# mount namespace of its own (``unshare``: as root there, without being root here).

#: Run in the namespace: mount what the test asks for, run canfar commands, print what each did.
IN_NAMESPACE = (
    FILL
    + """
import json, os, subprocess, sys
state = os.environ["XDG_STATE_HOME"]
canfar = json.loads(sys.argv[1])
results = {}

def run(name, *args):
    done = subprocess.run([*canfar, *args], capture_output=True, text=True, timeout=60)
    results[name] = {"code": done.returncode, "out": done.stdout, "err": done.stderr}
    return done

mode = sys.argv[2]
os.makedirs(state, exist_ok=True)
if mode == "full":
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", state], check=True)
made = run("create", "create", "headless", "img/x:1", "-q", "--env", sys.argv[3], "--",
           "sh", "-c", "echo hello; sleep 300")
session_id = made.stdout.strip()
if mode == "full":
    fill(state)
    results["free"] = os.statvfs(state).f_bavail
else:
    subprocess.run(["mount", "--bind", state, state], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", state], check=True)
run("ps", "ps", "-q")
run("info", "info", session_id)
run("logs", "logs", session_id)
run("create2", "create", "headless", "img/x:1", "-q", "--", "true")
run("delete", "delete", "--force", session_id)
run("ps_after", "ps", "--all", "-q")
print(json.dumps({"id": session_id, **results}))
"""
)


def _in_namespace(mode: str, tag: str) -> dict:
    return run_script(IN_NAMESPACE, mode, f"CANFAR_TEST_TAG={tag}")


@needs_namespace
@pytest.mark.slow
def test_ps_info_logs_and_delete_work_with_the_disk_full(tag):
    seen = _in_namespace("full", tag)
    assert seen["free"] == 0
    session_id = seen["id"]
    assert seen["ps"]["code"] == 0, seen["ps"]["err"]
    assert seen["ps"]["out"].split() == [session_id]
    assert "full" in seen["ps"]["err"]  # said, as a warning
    assert seen["info"]["code"] == 0, seen["info"]["err"]
    assert seen["logs"]["out"] == "hello\n"
    # Nothing new can be recorded: refused, clearly.
    assert seen["create2"]["code"] == 1
    assert "is full" in seen["create2"]["err"]
    # The one command that frees space works, and stops the replica.
    assert seen["delete"]["code"] == 0, seen["delete"]["err"]
    assert "Deleted 1 session" in seen["delete"]["err"]
    assert seen["ps_after"]["out"] == ""
    assert tagged(tag) == []


@needs_namespace
@pytest.mark.slow
def test_a_read_only_database_does_not_break_ps(tag):
    seen = _in_namespace("read-only", tag)
    session_id = seen["id"]
    for command in ("ps", "info", "logs"):
        assert seen[command]["code"] == 0, seen[command]["err"]
        assert "unexpected" not in seen[command]["err"]
    assert seen["ps"]["out"].split() == [session_id]
    assert "read-only" in seen["ps"]["err"]
    assert seen["logs"]["out"] == "hello\n"
    for command in ("create2", "delete"):  # changes are refused, saying why
        assert seen[command]["code"] == 1
        assert "read-only" in seen[command]["err"]
        assert "unexpected" not in seen[command]["err"]
