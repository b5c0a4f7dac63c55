"""Slurm job states in the platform's words.

Slurm's own state (``OUT_OF_MEMORY``, ``CANCELLED by 1000``, ...) and reason are kept beside
the status word in ``info``; only the word is mapped here.
"""

from __future__ import annotations

#: Waiting to start (or to start again).
PENDING = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
        "SUSPENDED",
        "STOPPED",
    }
)
#: Holding resources and running the command (or writing its last output).
RUNNING = frozenset({"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "POWER_UP_NODE"})
COMPLETED = frozenset({"COMPLETED"})
#: Ended without success: the command failed, or Slurm ended it.
FAILED = frozenset(
    {
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "BOOT_FAIL",
        "DEADLINE",
        "PREEMPTED",
        "REVOKED",
        "SPECIAL_EXIT",
    }
)
FINAL = COMPLETED | FAILED


def base_state(state: str) -> str:
    """``CANCELLED by 1000`` and ``CANCELLED+`` as ``CANCELLED``."""
    word = state.strip().split(" ", 1)[0].rstrip("+").upper()
    return word


def status_of(state: str) -> str:
    """The platform status of a Slurm state: Pending, Running, Completed or Failed.

    A state this module does not know is reported as Pending if Slurm may still run the job,
    which is the only safe guess: ``wait`` keeps waiting rather than reporting a false end.
    """
    word = base_state(state)
    if word in RUNNING:
        return "Running"
    if word in COMPLETED:
        return "Completed"
    if word in FAILED:
        return "Failed"
    return "Pending"


def is_final(state: str) -> bool:
    return base_state(state) in FINAL
