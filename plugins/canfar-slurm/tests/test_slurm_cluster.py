"""The slurm backend on a real Slurm cluster: what a user of ``canfar`` and of ``Session`` sees.

The cluster is the single-node one ``start_slurm.sh`` starts; without it, these tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canfar.sessions import Session
from canfar_core.errors import CanfarError, NotFound, SessionRequestError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("slurm_cluster", "canfar_home")]

CANFAR = [str(Path(sys.executable).with_name("canfar"))]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A Session on the slurm backend; every job the test submitted is cancelled after it."""
    from canfar_slurm.settings import state_root
    from canfar_slurm.store import Store

    monkeypatch.chdir(tmp_path)
    yield Session(backend="slurm")
    jobs = [record.job for record in Store(state_root()).all()]
    if jobs:
        subprocess.run(["scancel", *jobs], check=False, capture_output=True)


def canfar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CANFAR, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def squeue_states(job: str) -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "--noheader", "--array", "--states=all", f"--jobs={job}", "--format=%i|%T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("|") for line in out.split())


def wait_until(condition, timeout: float = 60.0, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll)


def test_a_four_task_array_whose_replicas_print_their_id(session: Session) -> None:
    ids = session.create(
        "echo",
        "docker://python:3.12-slim",
        replicas=4,
        cmd="sh",
        args=["-c", 'echo "replica $REPLICA_ID of $REPLICA_COUNT"'],
    )
    job = ids[0].split("_")[0]
    assert ids == [f"{job}_{k}" for k in range(1, 5)]
    done = session.wait(ids, "Completed", timeout=90, poll=0.5)
    assert {info.status for info in done.values()} == {"Completed"}
    assert [info.name for info in done.values()] == [f"echo-{k}" for k in range(1, 5)]
    for k, session_id in enumerate(ids, 1):
        assert session.logs(session_id, errors="raise")[session_id] == f"replica {k} of 4\n"
    result = canfar("logs", "--backend", "slurm", ids[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "replica 3 of 4\n"
    listed = json.loads(canfar("ps", "--all", "--json", "--backend", "slurm").stdout)
    assert sorted(s["id"] for s in listed) == ids


def test_chunk_shares_are_complete_and_disjoint(session: Session) -> None:
    program = (
        "from canfar.helpers import distributed\n"
        "print(','.join(distributed.chunk([str(i) for i in range(10)])))\n"
    )
    ids = session.create("shares", "python", replicas=4, cmd=sys.executable, args=["-c", program])
    session.wait(ids, "Completed", timeout=90, poll=0.5)
    shares = [session.logs(i, errors="raise")[i].strip().split(",") for i in ids]
    assert [len(share) for share in shares] == [3, 3, 2, 2]
    flat = [item for share in shares for item in share]
    assert flat == [str(i) for i in range(10)]  # every item once, in order, none shared


def test_a_failing_task_is_failed_with_its_exit_code(session: Session) -> None:
    [session_id] = session.create("fails", "img", cmd="sh", args=["-c", "echo oops; exit 3"])
    info = session.wait([session_id], "Completed", timeout=60, poll=0.5)[session_id]
    assert info.status == "Failed"
    assert info.exit_code == 3
    assert info.extra["slurm_state"] == "FAILED"
    assert info.extra["slurm_reason"] == "NonZeroExitCode"
    shown = canfar("info", "--backend", "slurm", session_id)
    assert "Failed" in shown.stdout
    assert "3" in shown.stdout
    events = canfar("events", "--backend", "slurm", session_id).stdout
    assert "Ended" in events
    assert "exit code 3" in events


def test_delete_cancels_a_running_array(session: Session) -> None:
    ids = session.create("sleeper", "img", replicas=3, cmd="sleep", args=["300"])
    job = ids[0].split("_")[0]
    assert wait_until(lambda: "RUNNING" in squeue_states(job).values())
    result = canfar("delete", "--force", "--backend", "slurm", job)
    assert result.returncode == 0, result.stderr
    states = wait_until(
        lambda: (s := squeue_states(job)) and set(s.values()) == {"CANCELLED"} and s, timeout=30
    )
    assert states == {i: "CANCELLED" for i in ids}
    assert wait_until(lambda: not session.fetch(), timeout=30) is True
    with pytest.raises(SessionRequestError) as caught:
        session.info(ids[0], errors="raise")
    assert isinstance(caught.value.errors[ids[0]], NotFound)


def test_delete_one_replica_leaves_the_others(session: Session) -> None:
    ids = session.create("pair", "img", replicas=2, cmd="sleep", args=["300"])
    job = ids[0].split("_")[0]
    try:
        assert session.destroy([ids[0]], errors="raise") == {ids[0]: True}
        # A task cancelled before it started leaves squeue at once; a running one is CANCELLED.
        states = wait_until(
            lambda: (s := squeue_states(job)).get(ids[0], "CANCELLED") == "CANCELLED" and s
        )
        assert states[ids[1]] in ("PENDING", "RUNNING")
        assert wait_until(lambda: [s.id for s in session.fetch()] == [ids[1]], timeout=30)
    finally:
        subprocess.run(["scancel", job], check=False)


def test_logs_follow_until_the_task_ends(session: Session) -> None:
    [session_id] = session.create(
        "ticker", "img", cmd="sh", args=["-c", "for i in 1 2 3; do echo tick $i; sleep 1; done"]
    )
    result = canfar("logs", "-f", "--backend", "slurm", session_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tick 1\ntick 2\ntick 3\n"


def test_prune_removes_finished_sessions(session: Session) -> None:
    ids = session.create("tidy", "img", replicas=2, cmd="true")
    session.wait(ids, "Completed", timeout=60, poll=0.5)
    result = canfar("prune", "tidy", "--yes", "--backend", "slurm")
    assert result.returncode == 0, result.stderr
    assert session.fetch(status="Completed") == []


def test_sbatch_refusal_is_shown_and_exits_1(session: Session) -> None:
    result = canfar("create", "headless", "img", "--backend", "slurm", "--ram", "60", "--", "true")
    assert result.returncode == 1
    assert "sbatch refused the request" in result.stderr
    assert "Memory specification can not be satisfied" in result.stderr
    assert "Traceback" not in result.stderr
    assert canfar("ps", "-a", "-q", "--backend", "slurm").stdout == ""


def test_site_defaults_from_a_prepare_session_hook(session: Session, canfar_plugin) -> None:
    from canfar_core import hookimpl

    class Site:
        @hookimpl
        def canfar_prepare_session(self, spec):
            spec.options.setdefault("partition", "nosuchpartition")

    canfar_plugin(Site())
    with pytest.raises(CanfarError, match="invalid partition specified: nosuchpartition"):
        session.create("x", "img", cmd="true", errors="raise")


def test_a_controller_that_does_not_answer(session: Session, tmp_path: Path) -> None:
    conf = Path("/etc/slurm/slurm.conf")
    if not conf.exists():
        pytest.skip("the cluster's slurm.conf is not at /etc/slurm/slurm.conf")
    lines = [
        line
        for line in conf.read_text().splitlines()
        if not line.startswith(("SlurmctldHost=", "SlurmctldPort=", "MessageTimeout="))
    ]
    lines += ["SlurmctldHost=localhost", "SlurmctldPort=1", "MessageTimeout=1", "TCPTimeout=1"]
    down = tmp_path / "down.conf"
    down.write_text("\n".join(lines) + "\n")
    session.create("before", "img", cmd="true")
    result = canfar("ps", "--backend", "slurm", env={"SLURM_CONF": str(down)})
    assert result.returncode == 1
    assert "the Slurm controller does not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_slurm_commands_are_named(session: Session) -> None:
    result = canfar(
        "create",
        "headless",
        "img",
        "--backend",
        "slurm",
        "--",
        "true",
        env={"PATH": os.path.dirname(sys.executable)},
    )
    assert result.returncode == 1
    assert "sbatch command is not installed here" in result.stderr


def test_a_launch_interrupted_after_sbatch_is_found_by_its_comment(session: Session) -> None:
    """canfar killed between sbatch and recording the job id: the next look adopts the job."""
    from canfar_slurm.settings import state_root
    from canfar_slurm.store import ArrayRecord, Store

    store = Store(state_root())
    token = "0123456789abcdef"
    store.begin(
        token,
        ArrayRecord(
            job="",
            name="orphan",
            kind="headless",
            image="img",
            replicas=2,
            tasks=[1, 2],
            command=["true"],
            workdir=os.getcwd(),
            log_dir=os.getcwd(),
            runs_in="the host environment of the cluster's nodes",
            created=time.time(),
        ),
    )
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--array=1-2", f"--comment=canfar:{token}", "--wrap=true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    listed = {s.id: s.name for s in session.fetch()}
    assert listed == {f"{submitted}_1": "orphan-1", f"{submitted}_2": "orphan-2"}
    assert store.unfinished() == []


def test_a_launch_never_submitted_is_forgotten(session: Session) -> None:
    from canfar_slurm.settings import state_root
    from canfar_slurm.store import ArrayRecord, Store

    store = Store(state_root())
    store.begin(
        "fedcba9876543210",
        ArrayRecord(
            job="",
            name="never",
            kind="headless",
            image="img",
            replicas=1,
            tasks=[1],
            command=["true"],
            workdir=os.getcwd(),
            log_dir=os.getcwd(),
            runs_in="the host environment of the cluster's nodes",
            created=time.time() - 3600,
        ),
    )
    assert session.fetch() == []
    assert store.unfinished() == []
