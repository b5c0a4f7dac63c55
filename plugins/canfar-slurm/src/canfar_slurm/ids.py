"""Session ids on Slurm: ``JOBID_TASK`` for one replica, ``JOBID`` for a whole array.

Every id is checked against these forms before it reaches a command line, so nothing a user
types is ever read by Slurm as an option or as a list of jobs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from canfar_core.errors import ValidationError

TASK_PATTERN = re.compile(r"^([1-9][0-9]{0,18})_([0-9]{1,9})$")
ARRAY_PATTERN = re.compile(r"^([1-9][0-9]{0,18})$")


@dataclass(frozen=True)
class JobRef:
    """One array task (``task`` set) or a whole array job (``task`` None)."""

    job: str
    task: int | None = None

    def __str__(self) -> str:
        return self.job if self.task is None else f"{self.job}_{self.task}"


def parse_id(session_id: str, *, whole_array: bool = False) -> JobRef:
    """The job and task of ``session_id``; a whole array (``1234``) only when allowed."""
    text = session_id.strip() if isinstance(session_id, str) else ""
    match = TASK_PATTERN.match(text)
    if match:
        return JobRef(match.group(1), int(match.group(2)))
    if whole_array and ARRAY_PATTERN.match(text):
        return JobRef(text)
    forms = "JOBID_TASK (1234_5) or JOBID (1234)" if whole_array else "JOBID_TASK, like 1234_5"
    raise ValidationError(f"'{session_id}' is not a Slurm session id: expected {forms}")


def task_id(job: str, task: int) -> str:
    """The session id of array task ``task`` of job ``job``."""
    return str(parse_id(f"{job}_{task}"))
