"""Running a job to the end against the fake Skaha service: a replica that Failed is launched
again with its name, REPLICA_ID and REPLICA_COUNT, up to the retries asked for, never one that
completed; ``Session.run`` and ``canfar create --wait --retries`` are the same machinery."""

from __future__ import annotations

import json
import re

import pytest

from canfar.sessions import Session
from tests.fakeskaha import FakeSkaha


@pytest.fixture
def fake(fake_skaha: FakeSkaha, skaha_context: str) -> FakeSkaha:
    fake_skaha.run_seconds = 0.2
    return fake_skaha


def launches(fake: FakeSkaha) -> list[tuple[str, str, str]]:
    """(name, REPLICA_ID, REPLICA_COUNT) of each create request, in the order sent."""
    rows = []
    for request in fake.requests_to("POST", r"/v1/session$"):
        env = dict(pair.split("=", 1) for pair in request.values("env"))
        rows.append((str(request.param("name")), env["REPLICA_ID"], env["REPLICA_COUNT"]))
    return rows


def test_run_relaunches_the_failed_replica_only_and_reports_each_attempt(fake):
    fake.outcomes = {"fit-2": ["Failed", "Completed"], "fit-3": ["Failed"]}
    with Session() as session:
        results = session.run(
            name="fit", image="images.canfar.net/skaha/astroml:latest", cmd="python",
            args=["fit.py"], replicas=3, retries=2, poll=0.05, timeout=30,
        )  # fmt: skip
    assert [(r.replica, r.name, r.status) for r in results] == [
        (1, "fit-1", "Completed"),
        (2, "fit-2", "Completed"),
        (3, "fit-3", "Failed"),
    ]
    assert [[a.status for a in r.attempts] for r in results] == [
        ["Completed"],
        ["Failed", "Completed"],
        ["Failed", "Failed", "Failed"],
    ]
    assert [r.ok for r in results] == [True, True, False]
    sent = launches(fake)
    assert sorted(sent[:3]) == [("fit-1", "1", "3"), ("fit-2", "2", "3"), ("fit-3", "3", "3")]
    assert sorted(sent[3:]) == [("fit-2", "2", "3"), ("fit-3", "3", "3"), ("fit-3", "3", "3")]
    ids = [a.id for r in results for a in r.attempts]
    assert len(set(ids)) == len(ids) == 6
    # every relaunch came after its previous attempt had failed: never two at once
    for result in results:
        for before, after in zip(result.attempts, result.attempts[1:], strict=False):
            previous = fake.sessions[before.id]  # type: ignore[index]
            ended_at = previous.created + fake.pending_seconds + (previous.run_seconds or 0)
            assert fake.sessions[after.id].created >= ended_at  # type: ignore[index]
    assert results[2].log_tail == "fit-3: Failed"
    assert results[0].log_tail == ""


def test_run_without_retries_launches_each_replica_once(fake):
    fake.outcomes = {"one": ["Failed", "Completed"]}
    with Session() as session:
        (result,) = session.run(
            name="one", image="images.canfar.net/skaha/astroml:latest", cmd="true", poll=0.05
        )
    assert (result.status, len(result.attempts)) == ("Failed", 1)
    assert len(launches(fake)) == 1


def test_a_refused_relaunch_is_an_attempt_and_is_tried_again(fake):
    fake.outcomes = {"fit": ["Failed", "Completed"]}
    injected = []

    def refuse_the_next_launch(states):
        if not injected and any(s.status == "Failed" for s in states.values()):
            injected.append(fake.inject("POST", r"/v1/session$", status=400, body="no room"))

    with Session() as session:
        first = session.run(
            name="fit", image="images.canfar.net/skaha/astroml:latest", cmd="true", poll=0.05,
            progress=refuse_the_next_launch, retries=2,
        )  # fmt: skip
    assert [a.status for a in first[0].attempts] == ["Failed", "Refused", "Completed"]
    assert "no room" in str(first[0].attempts[1].reason)


def test_bad_retries_are_refused_before_anything_is_sent(fake):
    with Session() as session, pytest.raises(ValueError, match="retries must be"):
        session.run(image="images.canfar.net/skaha/astroml:latest", cmd="true", retries=-1)
    assert launches(fake) == []


def test_create_wait_retries_says_which_replicas_needed_retries(run, fake):
    fake.outcomes = {"fit-2": ["Failed", "Completed"]}
    result = run(
        "create", "headless", "skaha/astroml", "--name", "fit", "-r", "2", "--wait",
        "--retries", "1", "--", "true",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "fit-2" in result.out
    assert re.search(r"^Retried replica 2 \(fit-2\): \w+ Failed, \w+ Completed$", result.err, re.M)
    assert "Retried replica 1" not in result.err
    assert len(launches(fake)) == 3


def test_create_wait_retries_json_and_exit_code_when_one_never_completes(run, fake):
    fake.outcomes = {"fit-1": ["Failed"]}
    result = run(
        "create", "headless", "skaha/astroml", "--name", "fit", "-r", "2", "--wait",
        "--retries", "2", "--json", "--", "true",
    )  # fmt: skip
    assert result.code == 1
    document = json.loads(result.out)
    assert [(r["replica"], r["status"], r["retried"]) for r in document] == [
        (1, "Failed", True),
        (2, "Completed", False),
    ]
    assert [a["status"] for a in document[0]["attempts"]] == ["Failed"] * 3
    assert document[0]["log_tail"] == "fit-1: Failed"
    assert "Error: replica 1 (fit-1) ended Failed after 3 attempts" in result.err
    assert "  | fit-1: Failed" in result.err
    assert result.err.strip().endswith("Error: 1 of 2 replicas did not complete")


def test_retries_are_refused_for_interactive_sessions_and_with_until(run, fake):
    notebook = run("create", "notebook", "skaha/astroml", "--retries", "1")
    assert notebook.code != 0
    assert "--retries is for batch sessions" in notebook.err
    until = run("create", "headless", "skaha/astroml", "--retries", "1", "--until", "Running",
                "--", "true")  # fmt: skip
    assert until.code != 0
    assert "leave out --until" in until.err
    assert launches(fake) == []


def test_async_run_is_the_same_call_awaited(fake):
    import asyncio

    from canfar.sessions import AsyncSession

    fake.outcomes = {"job": ["Failed", "Completed"]}

    async def main():
        async with AsyncSession() as session:
            return await session.run(
                name="job", image="images.canfar.net/skaha/astroml:latest", cmd="true",
                retries=1, poll=0.05,
            )  # fmt: skip

    (result,) = asyncio.run(main())
    assert [a.status for a in result.attempts] == ["Failed", "Completed"]


def test_a_replica_whose_launch_may_have_happened_is_never_launched_again(fake):
    fake.inject("GET", r"/v1/session$", status=500, times=None)  # it cannot be looked for
    fake.inject("POST", r"/v1/session$", reset_after=True)  # created, the answer lost
    with Session() as session:
        (result,) = session.run(
            name="maybe", image="images.canfar.net/skaha/astroml:latest", cmd="true",
            retries=2, poll=0.05, timeout=30,
        )  # fmt: skip
    assert (result.status, result.id, len(result.attempts)) == ("Unknown", None, 1)
    assert "may have been created" in str(result.attempts[0].reason)
    assert len(launches(fake)) == 1
    assert [s.name for s in fake.live_sessions()] == ["maybe"]


def test_run_reports_a_replica_deleted_elsewhere_meanwhile_and_waits_for_the_others(fake):
    fake.run_seconds = 0.5
    deleted = []

    def delete_replica_2(states):  # another command deletes it while the job runs
        if not deleted and len(states) == 2:
            second = sorted(states.values(), key=lambda s: s.name)[1]
            with Session() as other:
                other.destroy(second.id)
            deleted.append(second.id)

    with Session() as session:
        results = session.run(
            name="fit", image="images.canfar.net/skaha/astroml:latest", cmd="true",
            replicas=2, retries=2, poll=0.05, timeout=30, progress=delete_replica_2,
        )  # fmt: skip
    assert [(r.name, r.status, r.ok) for r in results] == [
        ("fit-1", "Completed", True),
        ("fit-2", "Vanished", False),
    ]
    assert results[1].id == deleted[0]
    assert "no longer exists" in str(results[1].attempts[0].reason)
    assert len(launches(fake)) == 2  # a vanished replica is not launched again


def test_run_reports_a_replica_the_platform_forgot_before_its_end_was_seen(fake):
    fake.run_seconds = 0.05
    fake.headless_ttl = 0.05  # ended and gone between two polls
    with Session() as session:
        (result,) = session.run(
            name="gone", image="images.canfar.net/skaha/astroml:latest", cmd="true",
            retries=1, poll=1.0, timeout=30,
        )  # fmt: skip
    assert (result.status, result.ok, len(result.attempts)) == ("Vanished", False, 1)
    assert "forgotten by the server" in str(result.attempts[0].reason)
    assert len(launches(fake)) == 1


def test_create_wait_reports_a_session_deleted_meanwhile_and_waits_for_the_others(run, fake):
    """create --wait is Session.run's machinery without retries: a session that vanishes is
    one replica's outcome, not the end of the wait."""
    import threading
    import time

    fake.run_seconds = 1.5

    def delete_fit_2_once_launched():  # as another command would
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            named = {s.name: s for s in list(fake.sessions.values())}
            if "fit-2" in named:
                named["fit-2"].deleted = True
                return
            time.sleep(0.01)

    deleter = threading.Thread(target=delete_fit_2_once_launched)
    deleter.start()
    result = run(
        "create", "headless", "skaha/astroml", "--name", "fit", "-r", "2", "--wait", "--", "true"
    )  # fmt: skip
    deleter.join()
    assert result.code == 1
    rows = [line.split() for line in result.out.splitlines()[2:]]
    assert [row[1:] for row in rows] == [["fit-1", "Completed"], ["fit-2", "Vanished"]]
    gone = rows[1][0]
    assert f"Error: {gone} (fit-2) ended Vanished: no longer exists" in result.err
    assert result.err.strip().endswith("Error: 1 of 2 sessions failed")
    assert len(launches(fake)) == 2
