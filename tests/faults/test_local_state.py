"""The local backend's SQLite file under faults: damaged rows, a database another program has
locked, a read-only database. Real ``canfar`` commands on a real SQLite file; the
replicas are real processes.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.test_local_processes import tagged


@pytest.fixture
def state_db(canfar_home: Path) -> Path:
    from canfar_core.config import state_dir

    return state_dir() / "local" / "sessions.sqlite3"


def _damage(db: Path, session_id: str, column: str, value: object) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", (value, session_id))


@pytest.fixture
def tag():
    import uuid

    value = uuid.uuid4().hex
    yield value
    import contextlib
    import os
    import signal

    for pid in tagged(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


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
    deleted = run("delete", damaged, healthy)
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
        deleted = run("delete", session_id)
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
    assert run("delete", session_id).code == 0  # free again: it works
    assert tagged(tag) == []


def test_ps_shows_the_truth_while_another_program_holds_the_database(
    run, state_db, tag, monkeypatch
):
    """A replica ended; ps cannot save that (the database is locked) but shows it anyway."""
    from canfar_plugins.local import state

    monkeypatch.setattr(state, "LOCK_WAIT", 1.0, raising=False)
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
    assert took < 2
    import json

    [entry] = json.loads(shown.out)
    assert (entry["id"], entry["status"]) == (session_id, "Completed")
