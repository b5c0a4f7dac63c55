"""Where the backend's statuses come from once squeue has forgotten a job: sacct, then the exit
code each task wrote. Slurm's recorded output is replayed by real executables on PATH."""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

import pytest
from canfar_slurm.backend import SlurmBackend
from canfar_slurm.settings import state_root
from canfar_slurm.store import ArrayRecord, Store

from canfar_core.contexts import Context

RECORDED = Path(__file__).parent / "recorded"
pytestmark = pytest.mark.usefixtures("canfar_home")


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a command on PATH that prints a recorded file (or nothing) and exits with a code."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))

    def install(command: str, recording: str | None, code: int = 0) -> None:
        stream = "stdout" if code == 0 else "stderr"
        text = f"open({str(RECORDED / recording)!r}).read()" if recording else "''"
        path = folder / command
        path.write_text(
            f"#!{sys.executable}\nimport sys\nsys.{stream}.write({text})\nsys.exit({code})\n"
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    return install


def record(job: str, tasks: list[int], log_dir: Path) -> ArrayRecord:
    log_dir.mkdir(parents=True, exist_ok=True)
    entry = ArrayRecord(
        job=job,
        name="acct",
        kind="headless",
        image="img",
        replicas=len(tasks),
        tasks=tasks,
        command=["sh", "-c", "exit $((REPLICA_ID - 1))"],
        workdir=str(log_dir),
        log_dir=str(log_dir),
        runs_in="the host environment of the cluster's nodes",
        created=time.time() - 3600,
    )
    Store(state_root()).add(entry)
    return entry


def backend() -> SlurmBackend:
    return SlurmBackend(Context(name="slurm", backend="slurm"))


def test_sacct_answers_for_jobs_squeue_has_forgotten(fake_bin, tmp_path: Path) -> None:
    fake_bin("squeue", None)
    fake_bin("sacct", "sacct-mixed.txt")
    record("221", [1, 2, 3], tmp_path / "logs")
    listed = {s.id: (s.status, s.exit_code) for s in backend().list()}
    assert listed == {"221_1": ("Completed", 0), "221_2": ("Failed", 1), "221_3": ("Failed", 2)}


def test_final_states_are_kept_once_seen(fake_bin, tmp_path: Path) -> None:
    fake_bin("squeue", None)
    fake_bin("sacct", "sacct-mixed.txt")
    record("221", [1, 2, 3], tmp_path / "logs")
    backend().list()
    (tmp_path / "bin" / "sacct").unlink()
    (tmp_path / "bin" / "squeue").unlink()  # no Slurm command is needed any more
    assert [s.status for s in backend().list()] == ["Completed", "Failed", "Failed"]


def test_without_accounting_the_tasks_exit_codes_answer(fake_bin, tmp_path: Path) -> None:
    fake_bin("squeue", None)
    fake_bin("sacct", "sacct-no-accounting.txt", code=1)
    logs = tmp_path / "logs"
    record("221", [1, 2, 3], logs)
    (logs / "221_1.exit").write_text("0\n")
    (logs / "221_2.exit").write_text("7\n")
    found = {s.id: s for s in backend().list()}
    assert (found["221_1"].status, found["221_1"].exit_code) == ("Completed", 0)
    assert (found["221_2"].status, found["221_2"].exit_code) == ("Failed", 7)
    # No record anywhere: said to be lost, not left Pending forever.
    assert found["221_3"].status == "Failed"
    assert found["221_3"].exit_code is None
    assert "no longer reports" in found["221_3"].extra["slurm_reason"]
