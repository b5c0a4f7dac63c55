"""The Slurm command lines canfar runs, and the machine-readable output they print.

Everything here is pure: it builds argument lists (never a shell string) and parses text, so it
is tested against output recorded from a real cluster. Running the commands is ``runner``'s job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from canfar_core.errors import ValidationError

#: squeue fields, in order: id (JOBID_TASK with --array), state, submit, start and end times,
#: nodes, partition, reason. The reason comes last: it is free text.
SQUEUE_FORMAT = "%i|%T|%V|%S|%e|%N|%P|%r"
#: sacct fields, in the same spirit (sacct has no reason column common to all versions).
SACCT_FIELDS = "JobID,State,ExitCode,Submit,Start,End,NodeList,Partition"

#: Time limits Slurm accepts: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED.
TIME_PATTERN = re.compile(
    r"^(?:\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+(?::\d{1,2}(?::\d{1,2})?)?|unlimited|infinite)$",
    re.IGNORECASE,
)
#: Partition, account and QOS names (a comma-separated list of partitions is allowed).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.+-]+(?:,[A-Za-z0-9_.+-]+)*$")


@dataclass(frozen=True)
class JobOptions:
    """The sbatch options of one launch, already checked."""

    name: str
    array: str
    log_pattern: str
    workdir: str
    cpus: int | None = None
    mem_mb: int | None = None
    gpus: int | None = None
    time: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    #: Marks the job as this launch's (``canfar:TOKEN``), so a launch interrupted after sbatch
    #: submitted but before canfar recorded the job id can still find its job.
    comment: str | None = None


@dataclass(frozen=True)
class TaskState:
    """One array task as squeue or sacct reports it. Times are Slurm's ISO text, or None."""

    id: str
    state: str
    reason: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    submit: str | None = None
    start: str | None = None
    end: str | None = None
    nodes: str | None = None
    partition: str | None = None


def check_time(value: str) -> str:
    text = str(value).strip()
    if not TIME_PATTERN.match(text):
        raise ValidationError(
            f"time limit '{value}' is not one Slurm accepts "
            "(minutes, HH:MM:SS, D-HH:MM:SS or UNLIMITED)"
        )
    return text


def check_name(what: str, value: str) -> str:
    text = str(value).strip()
    if not NAME_PATTERN.match(text):
        raise ValidationError(f"{what} '{value}' is not a Slurm {what} name")
    return text


def array_spec(replicas: Iterable[int]) -> str:
    """Replica numbers as an ``--array`` value: ``1-4``, or ``2,5,7-9`` for a chosen few."""
    numbers = sorted(set(replicas))
    if not numbers:
        raise ValidationError("no replica to launch")
    parts: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ",".join(parts)


def cpus_for(cores: float | None) -> int | None:
    """Slurm allocates whole CPUs: a fractional request is rounded up."""
    return None if cores is None else max(1, math.ceil(cores))


def mem_mb_for(ram_gb: float | None) -> int | None:
    """GB (GiB, as the platform means it) as the MB (MiB) that ``--mem`` takes."""
    return None if ram_gb is None else max(1, math.ceil(ram_gb * 1024))


def sbatch_argv(options: JobOptions) -> list[str]:
    """The sbatch command of one launch; the batch script itself goes to its standard input."""
    argv = [
        "sbatch",
        "--parsable",
        f"--array={options.array}",
        f"--job-name={options.name}",
        f"--output={options.log_pattern}",
        f"--chdir={options.workdir}",
        "--ntasks=1",
    ]
    if options.cpus is not None:
        argv.append(f"--cpus-per-task={options.cpus}")
    if options.mem_mb is not None:
        argv.append(f"--mem={options.mem_mb}M")
    if options.gpus:
        argv.append(f"--gres=gpu:{options.gpus}")
    if options.time is not None:
        argv.append(f"--time={options.time}")
    if options.partition is not None:
        argv.append(f"--partition={options.partition}")
    if options.account is not None:
        argv.append(f"--account={options.account}")
    if options.qos is not None:
        argv.append(f"--qos={options.qos}")
    if options.comment is not None:
        argv.append(f"--comment={options.comment}")
    return argv


def parse_sbatch(output: str) -> str:
    """The job id ``sbatch --parsable`` printed (``1234``, or ``1234;cluster``)."""
    line = output.strip().splitlines()[-1] if output.strip() else ""
    job = line.split(";", 1)[0].strip()
    if not job.isdigit():
        raise ValueError(f"sbatch printed no job id: {output.strip()!r}")
    return job


def squeue_argv(jobs: Iterable[str]) -> list[str]:
    """Every task of these array jobs, in any state the controller still remembers."""
    return [
        "squeue",
        "--noheader",
        "--array",
        "--states=all",
        f"--jobs={','.join(jobs)}",
        f"--format={SQUEUE_FORMAT}",
    ]


def squeue_mine_argv() -> list[str]:
    """The user's jobs with their comments: one line per job (an array is one line)."""
    return ["squeue", "--noheader", "--me", "--states=all", "--format=%F|%k"]


def parse_comments(output: str) -> dict[str, str]:
    """``comment -> job id`` from :func:`squeue_mine_argv`'s output."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        job, _, comment = line.partition("|")
        text = _text(comment)
        if job.strip().isdigit() and text:
            found[text] = job.strip()
    return found


def comments_readable(output: str) -> bool:
    """Whether every line of :func:`squeue_mine_argv`'s output is one job: an answer garbled or
    cut short proves nothing about the jobs it does not show."""
    return all(
        line.partition("|")[0].strip().isdigit() and "|" in line
        for line in output.splitlines()
        if line.strip()
    )


def sacct_argv(jobs: Iterable[str]) -> list[str]:
    """The accounting records of these array jobs (their tasks, not their steps)."""
    return [
        "sacct",
        "--parsable2",
        "--noheader",
        "--allocations",
        "--duplicates",
        f"--jobs={','.join(jobs)}",
        f"--format={SACCT_FIELDS}",
    ]


def scancel_argv(ids: Iterable[str]) -> list[str]:
    return ["scancel", *ids]


def _time(text: str) -> str | None:
    text = text.strip()
    return None if text.upper() in ("", "N/A", "UNKNOWN", "NONE") else text


def _text(text: str) -> str | None:
    text = text.strip()
    return None if text in ("", "(null)", "None", "N/A") else text


def parse_squeue(output: str) -> dict[str, TaskState]:
    """squeue lines printed with :data:`SQUEUE_FORMAT`, by task id.

    Lines that are not one array task (``1234_[3-9]`` for tasks not yet split off, or a job
    that is no array) are skipped: a pending range is reported task by task once ``--array``
    has split it, which it does in the same output.
    """
    tasks: dict[str, TaskState] = {}
    for line in output.splitlines():
        fields = line.split("|", 7)
        if len(fields) != 8 or "_" not in fields[0] or "[" in fields[0]:
            continue
        task, state, submit, start, end, nodes, partition, reason = fields
        tasks[task.strip()] = TaskState(
            id=task.strip(),
            state=state.strip(),
            reason=_text(reason),
            submit=_time(submit),
            start=_time(start),
            end=_time(end),
            nodes=_text(nodes),
            partition=_text(partition),
        )
    return tasks


def _exit(text: str) -> tuple[int | None, int | None]:
    """sacct's ``ExitCode`` (``code:signal``) as two numbers."""
    code, _, signal = text.strip().partition(":")
    try:
        return int(code), int(signal or 0)
    except ValueError:
        return None, None


def parse_sacct(output: str) -> dict[str, TaskState]:
    """sacct lines printed with :data:`SACCT_FIELDS` (``--parsable2``), by task id.

    With ``--duplicates`` a requeued task has several records; the last one is the latest.
    """
    tasks: dict[str, TaskState] = {}
    for line in output.splitlines():
        fields = line.split("|")
        if len(fields) != 8:
            continue
        task, state, exit_code, submit, start, end, nodes, partition = fields
        if "_" not in task or "[" in task or "." in task:
            continue
        code, signal = _exit(exit_code)
        tasks[task] = TaskState(
            id=task,
            state=state.strip(),
            exit_code=code,
            signal=signal or None,
            submit=_time(submit),
            start=_time(start),
            end=_time(end),
            nodes=_text(nodes),
            partition=_text(partition),
        )
    return tasks
