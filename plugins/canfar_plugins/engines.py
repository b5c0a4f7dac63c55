"""Built-in plugin: the replica position under other engines' array jobs.

With it, a script that calls ``distributed.chunk(files)`` runs unchanged as a Slurm job array, a
Kubernetes Indexed Job, an AWS Batch array job or a Google Cloud Batch job. It answers the
``canfar_replica_position`` hook, which is asked only when neither an argument nor
``REPLICA_ID`` gives the replica. Each engine's variables are checked here, so a malformed one
is a ``ValueError`` naming that variable and its value.

=========================  ==========================================  ===========================
engine                     replica                                     count
=========================  ==========================================  ===========================
Slurm job array            ``SLURM_ARRAY_TASK_ID`` ranked within       ``SLURM_ARRAY_TASK_MIN``..
                           ``SLURM_ARRAY_TASK_MIN``..``MAX`` by        ``MAX`` (or ``_COUNT``)
                           ``SLURM_ARRAY_TASK_STEP``
Kubernetes Indexed Job     ``JOB_COMPLETION_INDEX`` + 1                ``REPLICA_COUNT`` or
                                                                       ``count=``
AWS Batch array job        ``AWS_BATCH_JOB_ARRAY_INDEX`` + 1           ``AWS_BATCH_JOB_ARRAY_SIZE``
Google Cloud Batch         ``BATCH_TASK_INDEX`` + 1                    ``BATCH_TASK_COUNT``
=========================  ==========================================  ===========================

The engines are tried in that order; the first whose index variable is set answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from canfar_core import hookimpl
from canfar_core.distribution import PositionAnswer, parse_int
from canfar_core.errors import ValidationError

Position = tuple[int, "int | None"]


def _read(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    return parse_int(name, raw)


def slurm(environ: Mapping[str, str]) -> Position | None:
    """A Slurm job array task: its rank in the array ``MIN..MAX`` taken by ``STEP``."""
    task = _read(environ, "SLURM_ARRAY_TASK_ID")
    if task is None:
        return None
    low = _read(environ, "SLURM_ARRAY_TASK_MIN")
    high = _read(environ, "SLURM_ARRAY_TASK_MAX")
    total = _read(environ, "SLURM_ARRAY_TASK_COUNT")
    step = _read(environ, "SLURM_ARRAY_TASK_STEP")
    if step is None:
        step = 1
    if step < 1:
        raise ValidationError(
            f"SLURM_ARRAY_TASK_STEP={step} is not a valid step: it must be 1 or more"
        )
    if total is not None and total < 1:
        raise ValidationError(
            f"SLURM_ARRAY_TASK_COUNT={total} is not a valid task count: it must be 1 or more"
        )
    if low is None and high is not None and total is not None:
        low = high - (total - 1) * step
    if low is None or (high is None and total is None):
        raise ValidationError(_slurm_missing(task, high, total))
    if high is None:
        assert total is not None
        high = low + (total - 1) * step
    if high < low:
        raise ValidationError(f"SLURM_ARRAY_TASK_MAX={high} is below SLURM_ARRAY_TASK_MIN={low}")
    count = (high - low) // step + 1
    if (total is not None and total != count) or (high - low) % step:
        raise ValidationError(
            f"SLURM_ARRAY_TASK_ID={task} is in a job array that is not an evenly spaced range "
            f"(SLURM_ARRAY_TASK_MIN={low}, SLURM_ARRAY_TASK_MAX={high}, "
            f"SLURM_ARRAY_TASK_STEP={step}, SLURM_ARRAY_TASK_COUNT={total}), so its replica "
            "number is unknown: submit --array=MIN-MAX[:STEP], or pass replica= and count="
        )
    if not low <= task <= high or (task - low) % step:
        raise ValidationError(
            f"SLURM_ARRAY_TASK_ID={task} is not in the job array "
            f"{low}-{high}" + (f":{step}" if step != 1 else "")
        )
    return PositionAnswer((task - low) // step + 1, count, f"SLURM_ARRAY_TASK_ID={task}")


def _slurm_missing(task: int, high: int | None, total: int | None) -> str:
    """Why a Slurm task's place in its array is unknown, naming what is set and what is not.

    The place needs ``SLURM_ARRAY_TASK_MIN`` with ``_MAX`` or ``_COUNT``, or ``_MAX`` with
    ``_COUNT``; this is called when those are not there.
    """
    given = [f"SLURM_ARRAY_TASK_ID={task}"]
    if high is not None:
        given.append(f"SLURM_ARRAY_TASK_MAX={high}")
        missing = "SLURM_ARRAY_TASK_MIN (or SLURM_ARRAY_TASK_COUNT)"
    elif total is not None:
        given.append(f"SLURM_ARRAY_TASK_COUNT={total}")
        missing = "SLURM_ARRAY_TASK_MIN (or SLURM_ARRAY_TASK_MAX)"
    else:
        missing = "SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX (or SLURM_ARRAY_TASK_COUNT)"
    return (
        f"{' and '.join(given)} {'are' if len(given) > 1 else 'is'} set without {missing}, so "
        "this task's place in the array is unknown: pass replica= and count="
    )


def _zero_based(
    environ: Mapping[str, str], index_name: str, count_name: str | None
) -> Position | None:
    """An engine that numbers its tasks ``0..count-1`` in ``index_name``."""
    index = _read(environ, index_name)
    if index is None:
        return None
    if index < 0:
        raise ValidationError(
            f"{index_name}={index} is not a valid task index: it is 0-based, so 0 or more"
        )
    count = _read(environ, count_name) if count_name else None
    if count is not None:
        if count < 1:
            raise ValidationError(
                f"{count_name}={count} is not a valid task count: it must be 1 or more"
            )
        if index >= count:
            raise ValidationError(
                f"{index_name}={index} is out of range: with {count_name}={count}, task "
                f"indices run 0 to {count - 1}"
            )
    return PositionAnswer(index + 1, count, f"{index_name}={index}")


def kubernetes(environ: Mapping[str, str]) -> Position | None:
    """A Kubernetes Indexed Job pod; the count comes from ``REPLICA_COUNT`` or the caller."""
    return _zero_based(environ, "JOB_COMPLETION_INDEX", None)


def aws_batch(environ: Mapping[str, str]) -> Position | None:
    """An AWS Batch array job child."""
    return _zero_based(environ, "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE")


def google_batch(environ: Mapping[str, str]) -> Position | None:
    """A Google Cloud Batch task."""
    return _zero_based(environ, "BATCH_TASK_INDEX", "BATCH_TASK_COUNT")


ENGINES: tuple[tuple[str, Callable[[Mapping[str, str]], Position | None]], ...] = (
    ("slurm", slurm),
    ("kubernetes", kubernetes),
    ("aws-batch", aws_batch),
    ("google-batch", google_batch),
)


@hookimpl
def canfar_replica_position(environ: Mapping[str, str]) -> Position | None:
    for _name, read in ENGINES:
        position = read(environ)
        if position is not None:
            return position
    return None
