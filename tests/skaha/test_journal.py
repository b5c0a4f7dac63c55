"""The journal of finished work against a fake Skaha whose finished headless sessions vanish
after a moment, as the platform's do after an hour: what canfar saw finish stays listed,
readable and deletable here, marked as kept, in private files."""

from __future__ import annotations

import json
import stat

import pytest

from canfar.sessions import Session
from tests.fakeskaha import FakeSkaha

IMAGE = "images.canfar.net/skaha/astroml:latest"


@pytest.fixture
def fake(fake_skaha: FakeSkaha, skaha_context: str) -> FakeSkaha:
    fake_skaha.run_seconds = 0.1
    fake_skaha.headless_ttl = 60
    return fake_skaha


def finished(fake: FakeSkaha, names: dict[str, str]) -> dict[str, str]:
    """Sessions by name, already ended as ``names`` says, each with a log."""
    fake.outcomes = {name: [outcome] for name, outcome in names.items()}
    with Session() as session:
        results = session.run(name="job", image=IMAGE, cmd="true", replicas=len(names), poll=0.05)
    return {r.name: str(r.id) for r in results}


def test_sessions_seen_finished_outlive_the_platform(run, fake, canfar_home):
    ids = finished(fake, {"job-1": "Completed", "job-2": "Failed"})
    seen = run("ps", "--all", "--json")
    assert seen.code == 0, seen.err
    fake.advance(61)
    assert fake.live_sessions() == []

    listed = run("ps", "--all")
    assert listed.code == 0, listed.err
    rows = {line.split()[0]: line for line in listed.out.splitlines()[2:]}
    assert sorted(rows) == sorted(ids.values())
    assert "Failed (kept)" in rows[ids["job-2"]]
    assert "Completed (kept)" in rows[ids["job-1"]]
    assert run("ps", "-q").out == ""  # kept sessions are finished ones: ps --all shows them

    with Session() as session:
        (one,) = session.info(ids["job-2"], errors="raise")
        assert (one.status, one.kept, one.name) == ("Failed", True, "job-2")
        assert session.logs(ids["job-2"]) == {ids["job-2"]: "job-2: Failed\n"}
        everything = {s.id: s for s in session.fetch()}
        assert everything[ids["job-1"]].kept

    info = run("info", ids["job-1"])
    assert info.code == 0, info.err
    assert "kept" in (info.out + info.err)
    logs = run("logs", ids["job-1"])
    assert logs.code == 0, logs.err
    assert logs.out == "job-1: Completed\n"
    assert "copy kept here" in logs.err

    folders = list((canfar_home).rglob("journal"))
    assert folders
    for path in folders[0].rglob("*"):
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path

    assert run("prune", "job").err.startswith("Nothing to prune")  # kept copies: when asked
    with Session() as session:
        assert session.destroy_with("job") == {}
    assert len(json.loads(run("ps", "--all", "--json").out)) == 2
    deleted = run("delete", "--force", ids["job-1"])
    assert deleted.code == 0, deleted.err
    after = json.loads(run("ps", "--all", "--json").out)
    assert [s["id"] for s in after] == [ids["job-2"]]
    assert run("prune", "job", "--status", "Failed", "--kept").code == 0
    assert json.loads(run("ps", "--all", "--json").out) == []


def test_a_session_never_seen_finished_is_not_kept(run, fake):
    with Session() as session:
        (sid,) = session.create(name="quiet", image=IMAGE, cmd="true")
    fake.advance(61)
    listed = run("ps", "--all", "-q")
    assert listed.out.split() == []
    assert sid not in listed.out


def test_the_journal_is_bounded_by_age(fake):
    from canfar_plugins._support.journal import Journal

    ids = finished(fake, {"job-1": "Completed", "job-2": "Completed"})
    with Session() as session:
        journal = session.backend.journal  # type: ignore[attr-defined]
        assert sorted(s.id for s in journal.kept()) == sorted(ids.values())
        journal.bound(max_days=0, max_mb=100)
        assert Journal("canfar", "", root=journal.folder.parent.parent).kept() == []
        assert Journal(journal.folder.parent.name, journal.folder.name,
                       root=journal.folder.parent.parent).kept() == []  # fmt: skip


def test_the_journal_is_bounded_by_size_oldest_first(tmp_path):
    from canfar_core.models import SessionInfo
    from canfar_plugins._support.journal import Journal

    journal = Journal("canfar", "ctx", root=tmp_path)
    for k in range(3):
        journal.keep([SessionInfo(f"s{k}", f"job-{k}", "headless", "img", "Completed", "canfar")])
        list(journal.keep_log(f"s{k}", [b"x" * 400_000]))
    journal.bound(max_days=30, max_mb=1)
    assert [s.id for s in Journal("canfar", "ctx", root=tmp_path).kept()] == ["s1", "s2"]
    assert journal.log_path("s0") is None
    assert journal.log_path("s2") is not None


def test_an_ad_hoc_server_has_a_journal_of_its_own(fake):
    finished(fake, {"job-1": "Completed", "job-2": "Completed"})
    with FakeSkaha() as other, Session(url=other.url, token=other.token) as session:
        assert session.fetch(status="Completed") == []


def test_info_says_why_a_pending_session_waits(run, fake):
    fake.pending_seconds = 600
    fake.pending_reason = "0/3 nodes are available: 3 Insufficient cpu."
    with Session() as session:
        (sid,) = session.create(name="big", image=IMAGE, cmd="true")
    shown = run("info", sid)
    assert shown.code == 0, shown.err
    (line,) = [line for line in shown.out.splitlines() if line.startswith("waiting:")]
    assert "not enough free CPU cores on the platform" in line
    assert "3 Insufficient cpu." in line
    (record,) = json.loads(run("info", sid, "--json").out)
    assert record["waiting"].startswith("not enough free CPU cores")
    fake.pending_reason = None
    assert "waiting:" not in run("info", sid).out


def test_run_keeps_each_log_as_its_replica_ends_not_when_the_job_ends(fake):
    fake.run_seconds = 0.1
    fake.headless_ttl = 0.3  # job-1's log is gone from the server long before the job ends
    fake.outcomes = {"job-1": ["Completed"], "job-2": ["Failed", "Failed", "Failed", "Completed"]}
    with Session() as session:
        results = session.run(name="job", image=IMAGE, cmd="true", replicas=2, retries=3,
                              poll=0.05)  # fmt: skip
        assert [r.status for r in results] == ["Completed", "Completed"]
        first = str(results[0].id)
        assert first not in {s.id for s in fake.live_sessions()}
        assert session.logs(first) == {first: "job-1: Completed\n"}
        assert session.info(first)[0].kept


def test_wait_keeps_each_log_as_its_session_ends(run, fake):
    fake.run_seconds = 0.1
    fake.outcomes = {"w-1": ["Completed"], "w-2": ["Failed"]}
    with Session() as session:
        ids = session.create(name="w", image=IMAGE, cmd="true", replicas=2)
    waited = run("wait", *ids)
    assert waited.code == 1  # w-2 failed
    fake.advance(61)
    for sid, name, outcome in zip(ids, ("w-1", "w-2"), ("Completed", "Failed"), strict=True):
        shown = run("logs", sid)
        assert shown.out == f"{name}: {outcome}\n"
        assert "copy kept here" in shown.err


def test_stats_during_a_metrics_outage_says_so_in_one_line(run, fake):
    fake.stats_outage = True
    shown = run("stats")
    assert shown.code != 0
    assert shown.out == ""
    (line,) = shown.err.strip().splitlines()
    assert line.startswith("Error: ")
    assert "temporarily unavailable" in line


def test_a_setting_lets_ps_keep_the_logs_of_sessions_it_sees_finish(run, fake):
    for k in range(3):
        fake.set_logs(fake.add_session(name=f"seen-{k}", status="Completed"), f"log {k}\n")
    assert run("config", "set", "plugins.journal.ps_logs", "2").code == 0
    assert run("ps", "--all", "-q").code == 0
    fake.advance(3700)
    with Session() as session:
        texts = session.logs([s.id for s in session.fetch()])
    kept_logs = sorted(texts.values())
    assert kept_logs[0] == ""  # two per listing, as set: the third was not read
    assert set(kept_logs[1:]) < {"log 0\n", "log 1\n", "log 2\n"}
    assert len(set(kept_logs[1:])) == 2


WRITER = """
import sys
from pathlib import Path
from canfar_core.models import SessionInfo
from canfar_plugins._support.journal import Journal

root, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
journal = Journal("canfar", "ctx", root=root)  # one command's journal, read once, kept open
scratch = f"scratch-{tag}"
for k in range(count):
    journal.keep([SessionInfo(f"{tag}-{k}", "job", "headless", "img", "Completed", "canfar")])
    # a big record kept and deleted: its lines are garbage the next write rewrites away
    big = SessionInfo(scratch, "big", "headless", "img", "Failed", "canfar")
    big.extra = {"x": "y" * 20_000}
    journal.keep([big])
    journal.forget(scratch)
"""


def test_two_commands_writing_the_journal_at_once_lose_no_record(tmp_path):
    """Each write rewrites the journal now and then (dropping deleted copies); a rewrite made
    from what one command read earlier must not drop what the other appended since."""
    import subprocess
    import sys

    from canfar_plugins._support.journal import Journal

    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "journal"
    writers = [
        subprocess.Popen([sys.executable, str(script), str(root), tag, "40"]) for tag in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    kept = sorted(s.id for s in Journal("canfar", "ctx", root=root).kept())
    assert kept == sorted(f"{tag}-{k}" for tag in ("a", "b") for k in range(40))


def test_ps_why_says_why_pending_sessions_wait_reading_a_bounded_number_of_events(run, fake):
    from canfar_plugins.session_commands.waiting import PENDING_EXPLAINED

    fake.pending_reason = "0/3 nodes are available: 3 Insufficient cpu."
    running = fake.add_session(name="busy", status="Running")
    pending = [fake.add_session(name=f"big-{k}", status="Pending") for k in range(2)]

    def events_read() -> int:
        return sum(r.param("view") == "events" for r in fake.requests_to("GET"))

    plain = run("ps")
    assert plain.code == 0, plain.err
    assert "WAITING" not in plain.out
    assert "waiting" not in json.loads(run("ps", "--json").out)[0]
    assert events_read() == 0  # ps reads no events unless asked

    shown = run("ps", "--why")
    assert shown.code == 0, shown.err
    header, _, *lines = shown.out.splitlines()
    assert header.split()[-1] == "WAITING"
    rows = {line.split()[0]: line for line in lines}
    for sid in pending:
        assert "not enough free CPU cores on the platform" in rows[sid]
        assert "3 Insufficient cpu." in rows[sid]
    assert rows[running].rstrip().endswith("-")
    assert events_read() == 2  # one per Pending session, none for the Running one

    records = {r["id"]: r for r in json.loads(run("ps", "--why", "--json").out)}
    assert records[pending[0]]["waiting"].startswith("not enough free CPU cores")
    assert records[running]["waiting"] is None

    more = [fake.add_session(name=f"more-{k}", status="Pending") for k in range(PENDING_EXPLAINED)]
    before = events_read()
    many = run("ps", "--why")
    assert many.code == 0, many.err
    assert events_read() - before == PENDING_EXPLAINED  # bounded, however many wait
    total = len(pending) + len(more)
    assert f"the first {PENDING_EXPLAINED} of {total} Pending sessions" in many.err
    assert run("ps", "--why", "-q").code == 2
