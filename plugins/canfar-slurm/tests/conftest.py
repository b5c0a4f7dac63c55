"""Fixtures of canfar-slurm's tests: a real Slurm cluster where one answers, else a clear skip;
the fake controller of the fault tests (``fakeslurm``)."""

from __future__ import annotations

import shutil
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
    from canfar_slurm.runner import controller_state

    from canfar_core.errors import CanfarError

    try:
        controller_state()
    except CanfarError as exc:
        return str(exc).splitlines()[0]  # one line in the skip summary, never Slurm's raw log
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skip unless a Slurm cluster accepts jobs (as root: sh tests/start_slurm.sh starts one)."""
    problem = _cluster_problem()
    if problem:
        pytest.skip(f"no Slurm cluster: {problem} (start one as root with {START_SCRIPT.name})")
