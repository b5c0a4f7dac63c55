"""The slurm backend under faults, through the ``canfar`` command: a squeue answer canfar cannot
read, a damaged record, a permissive umask, output that is not UTF-8. Slurm is the fake
controller of ``fakeslurm`` (real executables on ``PATH``); the records are real files."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from canfar_slurm import backend
from canfar_slurm.settings import state_root
from canfar_slurm.store import Store
from fakeslurm import FakeSlurm

pytestmark = pytest.mark.usefixtures("canfar_home")


@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode()


@pytest.fixture
def canfar(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``canfar("ps", "--all")``: canfar in this process, on the slurm backend."""
    from canfar_core.cli import main
    from canfar_core.manager import reset_manager

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CANFAR_BACKEND", "slurm")
    reset_manager()

    def call(*argv: str) -> Result:
        saved = sys.stdin
        sys.stdin = io.StringIO("")
        try:
            capsysbinary.readouterr()
            code = main(list(argv))
            captured = capsysbinary.readouterr()
        finally:
            sys.stdin = saved
        return Result(code, captured.out, captured.err.decode())

    return call


def launch(canfar: Callable[..., Result], *command: str) -> str:
    made = canfar("create", "headless", "img/x:1", "-q", "--", *(command or ("sleep", "60")))
    assert made.code == 0, made.err
    return made.text.strip()


def statuses(canfar: Callable[..., Result]) -> dict[str, str]:
    shown = canfar("ps", "--all", "--json")
    assert shown.code == 0, shown.err
    return {s["id"]: s["status"] for s in json.loads(shown.out)}


# -- 1: one squeue answer canfar cannot read is never final -----------------------------------


def test_a_task_missing_from_one_garbled_squeue_answer_is_running_again_when_squeue_is(
    canfar, fake_slurm: FakeSlurm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "GRACE", 0.0)  # past the grace at once
    session_id = launch(canfar)
    assert statuses(canfar) == {session_id: "Running"}
    fake_slurm.change(answer="garbled")
    statuses(canfar)  # one look at a bad answer
    fake_slurm.change(answer="ok")
    assert statuses(canfar) == {session_id: "Running"}
    info = canfar("info", "--json", session_id)
    assert json.loads(info.out)[0]["status"] == "Running", info.err


def test_delete_cancels_a_task_whose_state_slurm_did_not_answer(
    canfar, fake_slurm: FakeSlurm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "GRACE", 0.0)
    session_id = launch(canfar)
    job, task = session_id.split("_")
    fake_slurm.change(answer="garbled")
    statuses(canfar)
    deleted = canfar("delete", "-f", session_id)
    assert deleted.code == 0, deleted.err
    assert "Deleted 1 session" in deleted.err
    assert fake_slurm.cancelled == [[session_id]]
    assert fake_slurm.read()["jobs"][job]["tasks"][task] == "CANCELLED"


def test_delete_of_a_task_slurm_has_forgotten_cancels_it_and_forgets_it(
    canfar, fake_slurm: FakeSlurm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slurm no longer knows the job (scancel says "Invalid job id"): it has ended, and the
    session is deleted."""
    monkeypatch.setattr(backend, "GRACE", 0.0)
    session_id = launch(canfar)
    fake_slurm.forget(session_id.split("_")[0])
    deleted = canfar("delete", "-f", session_id)
    assert deleted.code == 0, deleted.err
    assert fake_slurm.cancelled == [[session_id]]
    assert statuses(canfar) == {}


def test_a_garbled_answer_never_drops_a_launch_whose_job_id_was_not_recorded(
    canfar, fake_slurm: FakeSlurm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """canfar was killed after sbatch submitted, before it recorded the job id: a garbled
    ``squeue --me`` answer past the grace must not make it forget the job."""
    monkeypatch.setattr(backend, "GRACE", 0.0)
    runner = runner_module()
    with monkeypatch.context() as patch:
        patch.setattr(runner, "run", _killed_after_sbatch(runner.run))
        assert canfar("create", "headless", "img/x:1", "-q", "--", "sleep", "60").code == 130
    [job] = fake_slurm.read()["jobs"]
    fake_slurm.change(answer="garbled")
    statuses(canfar)
    fake_slurm.change(answer="ok")
    assert statuses(canfar) == {f"{job}_1": "Running"}


def runner_module():
    from canfar_slurm import runner

    return runner


def _killed_after_sbatch(run: Callable[..., str]) -> Callable[..., str]:
    """``runner.run`` that is interrupted right after sbatch has submitted (as a killed canfar)."""

    def interrupted(argv: list[str], **kwargs: object) -> str:
        output = run(argv, **kwargs)
        if argv[0] == "sbatch":
            raise KeyboardInterrupt
        return output

    return interrupted


# -- 8: private folders whatever the umask ------------------------------------------------------


def test_folders_are_0700_and_the_lock_0600_under_umask_000(canfar, fake_slurm) -> None:
    old = os.umask(0)
    try:
        launch(canfar)
        statuses(canfar)
    finally:
        os.umask(old)
    root = state_root()
    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in (root, root / "arrays", root / "launching", root / "logs", root / "lock")
    }
    assert modes == {
        "slurm": 0o700,
        "arrays": 0o700,
        "launching": 0o700,
        "logs": 0o700,
        "lock": 0o600,
    }


# -- 9: output that is not UTF-8 ----------------------------------------------------------------

RAW = b"caf\xe9\xff\nline two \xc3\xa9\n"


def test_logs_keep_bytes_that_are_not_utf8(canfar, fake_slurm, tmp_path: Path) -> None:
    first, second = launch(canfar), launch(canfar)
    for session_id in (first, second):
        job = session_id.split("_")[0]
        Store(state_root()).get(job).log_path(1).write_bytes(RAW)  # type: ignore[union-attr]

    assert canfar("logs", first).out == RAW
    both = canfar("logs", first, second)
    assert both.out == b"==> %s <==\n%s\n==> %s <==\n%s" % (
        first.encode(),
        RAW,
        second.encode(),
        RAW,
    )
    saved = canfar("logs", "-o", str(tmp_path / "saved"), first, second)
    assert saved.code == 0, saved.err
    files = sorted((tmp_path / "saved").iterdir())
    assert [f.read_bytes() for f in files] == [RAW, RAW]
    fake_slurm.set_task(first.split("_")[0], 1, "COMPLETED")
    assert canfar("logs", "-f", first).out == RAW


# -- 12: a damaged record ---------------------------------------------------------------------


def test_a_damaged_record_is_named_and_slurm_still_answers_for_its_job(canfar, fake_slurm) -> None:
    session_id = launch(canfar)
    job = session_id.split("_")[0]
    record = state_root() / "arrays" / f"{job}.json"
    record.write_bytes(record.read_bytes()[:40])  # cut short, as by a crash or a full disk

    listed = canfar("ps", "--all", "-q")
    assert listed.code == 0, listed.err
    assert listed.text.split() == [session_id]
    warning = [line for line in listed.err.splitlines() if str(record) in line]
    assert len(warning) == 1, listed.err
    assert f"canfar delete {job}" in warning[0]

    info = canfar("info", "--json", session_id)
    assert info.code == 0, info.err
    assert json.loads(info.out)[0]["status"] == "Running"

    deleted = canfar("delete", "-f", job)
    assert deleted.code == 0, deleted.err
    assert fake_slurm.cancelled == [[job]]
    assert not record.exists()
    assert canfar("ps", "--all", "-q").text == ""


# -- create options: --partition, --time, --account, --qos -------------------------------------


def test_the_create_options_of_the_slurm_plugin_reach_sbatch(canfar, fake_slurm) -> None:
    helped = canfar("create", "--help")
    section = helped.text.split("Options of plugin slurm:", 1)[1]
    assert all(f"--{name}" in section for name in ("partition", "time", "account", "qos"))
    made = canfar(
        "create", "headless", "img/x:1", "-q", "--partition", "gpu", "--time", "2:00:00",
        "--account", "rrg-astro", "--qos", "high", "--", "sleep", "60",
    )  # fmt: skip
    assert made.code == 0, made.err
    job = made.text.strip().split("_")[0]
    args = fake_slurm.read()["jobs"][job]["args"]
    assert {"--partition=gpu", "--time=2:00:00", "--account=rrg-astro", "--qos=high"} <= set(args)
    assert made.err == ""  # the slurm backend uses them all: no warning


def test_a_bad_time_given_on_the_command_line_is_refused_before_sbatch(canfar, fake_slurm) -> None:
    made = canfar("create", "headless", "img/x:1", "--time", "1h", "--", "true")
    assert made.code == 2
    assert "time" in made.err
    assert fake_slurm.read()["jobs"] == {}


def test_ps_why_gives_slurms_reason_for_a_pending_task(canfar, fake_slurm) -> None:
    first = launch(canfar)
    second = launch(canfar)
    fake_slurm.set_task(first.split("_")[0], 1, "PENDING:Resources")
    fake_slurm.set_task(second.split("_")[0], 1, "PENDING:Priority")
    shown = canfar("ps", "--why", "--json")
    assert shown.code == 0, shown.err
    waiting = {s["id"]: s["waiting"] for s in json.loads(shown.out)}
    assert waiting[first].startswith("waiting for free resources on the cluster")
    assert waiting[second].startswith("queued behind jobs of higher priority")
