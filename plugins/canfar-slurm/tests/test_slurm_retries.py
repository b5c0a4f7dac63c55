"""Retries on the slurm backend, against the fake controller: a task that FAILED is submitted
again as a one-task array with its own task id (its REPLICA_ID), never one that COMPLETED."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("canfar_home")


def test_run_resubmits_the_failed_task_only(fake_slurm, tmp_path: Path, monkeypatch) -> None:
    from canfar.sessions import Session
    from canfar_core.manager import reset_manager

    monkeypatch.chdir(tmp_path)
    reset_manager()
    outcome = {"700": {1: "COMPLETED", 2: "FAILED"}, "701": {2: "COMPLETED"}}
    done: set[str] = set()

    def controller(states) -> None:  # the cluster runs the tasks it was given
        for session_id in states:
            job, _, task = session_id.partition("_")
            if session_id not in done and job in outcome:
                done.add(session_id)
                fake_slurm.set_task(job, int(task), outcome[job][int(task)])

    with Session(backend="slurm") as session:
        results = session.run(
            name="fit", image="img/x:1", cmd="true", replicas=2, retries=3, poll=0.05,
            progress=controller, timeout=60,
        )  # fmt: skip
    assert [(r.name, r.status) for r in results] == [("fit-1", "Completed"), ("fit-2", "Completed")]
    assert [[a.id for a in r.attempts] for r in results] == [["700_1"], ["700_2", "701_2"]]
    assert [a.status for a in results[1].attempts] == ["Failed", "Completed"]
    assert sorted(fake_slurm.read()["jobs"]) == ["700", "701"]
    assert list(fake_slurm.read()["jobs"]["701"]["tasks"]) == ["2"]


def test_a_mistyped_slurm_option_is_named_before_anything_is_submitted(fake_slurm) -> None:
    from canfar.sessions import Session
    from canfar_core.manager import reset_manager

    reset_manager()
    with Session(backend="slurm") as session, pytest.raises(TypeError) as raised:
        session.create(name="fit", image="img/x:1", cmd="true", partiton="gpu")
    assert "'partiton'" in str(raised.value)
    assert "partition" in str(raised.value).split("'partiton'")[1]  # the right names are listed
    assert fake_slurm.read()["jobs"] == {}
