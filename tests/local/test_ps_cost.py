"""``canfar ps`` costs what it shows: finished sessions it does not show are never read.

Counted in records read from the database, not in time, so the test holds on any machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from canfar_core.cli import main
from canfar_plugins.local.state import Record, Store, new_id
from tests.local.conftest import linux_only, wait_for

FINISHED = 1500


@pytest.fixture
def read_records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every record read from the database, in order."""
    seen: list[str] = []
    original = Record.from_row.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Record], row: object) -> Record:
        record = original(cls, row)
        seen.append(record.id)
        return record

    monkeypatch.setattr(Record, "from_row", classmethod(counting))
    return seen


def add_finished(root: Path, count: int, workdir: Path) -> list[str]:
    """``count`` completed sessions, written to the database as a launch and its end would."""
    now = time.time() - 3600
    records = [
        Record(
            id=new_id(),
            name=f"old-{n}",
            kind="headless",
            image="img/x:1",
            status="Completed",
            replica=n + 1,
            replicas=count,
            command=["true"],
            workdir=str(workdir),
            runtime="host",
            created=now,
            started=now,
            ended=now + 1,
            exit_code=0,
            reason="exit code 0",
        )
        for n in range(count)
    ]
    store = Store(root)
    store.insert(records)
    store.close()
    return [r.id for r in records]


def ps(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["ps", "-q", *args]) == 0
    return capsys.readouterr().out.split()


@linux_only
def test_ps_reads_only_the_sessions_it_shows(session, state_root, workdir, read_records, capsys):
    finished = add_finished(state_root, FINISHED, workdir)
    running = session.create(image="img/x:1", cmd="sleep", args=["300"], replicas=2)

    read_records.clear()
    assert ps(capsys) == running
    assert sorted(read_records) == sorted(running)

    read_records.clear()
    assert ps(capsys, "--kind", "headless", "--status", "running") == running
    assert sorted(read_records) == sorted(running)

    read_records.clear()
    assert ps(capsys, "--all") == finished + running  # oldest first
    assert len(read_records) <= FINISHED + 2 * len(running)  # each live one read again at most


@linux_only
def test_a_session_that_ended_unseen_leaves_ps_and_shows_as_finished(
    session, state_root, read_records, capsys
):
    [done] = session.create(image="img/x:1", cmd="true")
    wait_for(lambda: (state_root / "exit" / done).exists(), what="the exit code")
    assert ps(capsys) == []
    assert ps(capsys, "--status", "completed") == [done]
    assert ps(capsys, "--status", "running") == []
