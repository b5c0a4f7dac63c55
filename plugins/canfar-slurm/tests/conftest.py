"""Fixtures of canfar-slurm's tests: a real Slurm cluster where one answers, else a clear skip;
the fake controller of the fault tests (``fakeslurm``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fakeslurm import fake_slurm

__all__ = ["fake_slurm", "slurm_cluster"]

START_SCRIPT = Path(__file__).parent / "start_slurm.sh"


def _cluster_problem() -> str | None:
    """Why no Slurm cluster can be used here, or None when one accepts jobs."""
    for command in ("sbatch", "squeue", "scancel", "sinfo"):
        if shutil.which(command) is None:
            return f"Slurm's {command} is not installed"
    try:
        ping = subprocess.run(
            ["scontrol", "ping"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"scontrol ping failed: {exc}"
    if ping.returncode != 0 or "UP" not in ping.stdout:
        return f"the Slurm controller does not answer: {(ping.stdout + ping.stderr).strip()}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skip unless a Slurm cluster accepts jobs (as root: sh tests/start_slurm.sh starts one)."""
    problem = _cluster_problem()
    if problem:
        pytest.skip(f"no Slurm cluster: {problem} (start one as root with {START_SCRIPT.name})")
