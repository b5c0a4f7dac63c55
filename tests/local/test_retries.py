"""Retries on the local backend: real processes, and the job's exit code decides. A replica
that fails until a marker file exists is launched again with its name and REPLICA_ID."""

from __future__ import annotations

import json

from tests.local.test_cli import canfar

# Fails the first time (leaving a marker), succeeds the next: a job that met a bad node once.
FLAKY = (
    'if [ -e "once-$REPLICA_ID" ]; then echo "ok $REPLICA_ID"; '
    'else touch "once-$REPLICA_ID"; echo "bad node"; exit 3; fi'
)


def test_run_relaunches_a_failed_replica_until_it_completes(session, workdir):
    results = session.run(
        name="fit", image="img/x:1", cmd="sh", args=["-c", FLAKY], replicas=2, retries=1,
        runtime="host", poll=0.1, timeout=60,
    )  # fmt: skip
    assert [(r.name, r.status, r.exit_code) for r in results] == [
        ("fit-1", "Completed", 0),
        ("fit-2", "Completed", 0),
    ]
    assert [[(a.status, a.exit_code) for a in r.attempts] for r in results] == [
        [("Failed", 3), ("Completed", 0)],
        [("Failed", 3), ("Completed", 0)],
    ]
    assert session.logs(results[0].id) == {results[0].id: "ok 1\n"}
    first_attempt = results[1].attempts[0].id
    assert session.info(first_attempt)[0].name == "fit-2"


def test_a_replica_that_always_fails_keeps_its_log_tail_and_the_exit_code_says_so(session, workdir):
    done = canfar(
        "create", "headless", "img/x:1", "--runtime", "host", "--name", "bad", "--retries", "1",
        "--json", "--", "sh", "-c", "echo one; echo two; exit 7",
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert (result["name"], result["status"], result["exit_code"]) == ("bad", "Failed", 7)
    assert [a["exit_code"] for a in result["attempts"]] == [7, 7]
    assert result["log_tail"] == "one\ntwo"
    assert "Error: replica 1 (bad) ended Failed after 2 attempts: exit code 7" in done.stderr


def test_a_replica_deleted_by_another_command_while_run_waits_is_reported_vanished(
    session, workdir
):
    deleted = []

    def delete_replica_2(states):  # `canfar delete` in another terminal
        if not deleted and len(states) == 2:
            second = sorted(states.values(), key=lambda s: s.name)[1]
            assert canfar("delete", "--force", second.id).returncode == 0
            deleted.append(second.id)

    results = session.run(
        name="slow", image="img/x:1", cmd="sh", args=["-c", "sleep 1"], replicas=2, retries=1,
        runtime="host", poll=0.1, timeout=60, progress=delete_replica_2,
    )  # fmt: skip
    assert [(r.name, r.status, r.ok) for r in results] == [
        ("slow-1", "Completed", True),
        ("slow-2", "Vanished", False),
    ]
    assert [r.id for r in results][1] == deleted[0]
    assert len(results[1].attempts) == 1  # not launched again
