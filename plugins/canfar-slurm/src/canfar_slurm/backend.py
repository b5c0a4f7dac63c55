"""The ``slurm`` backend: a launch is one Slurm job array, a replica one array task.

What a user can rely on:

* ``create`` runs one ``sbatch --array`` whose task ids are the replica numbers, so each task
  has ``REPLICA_ID`` (its task id) and ``REPLICA_COUNT``; the session ids are ``JOBID_TASK``.
* Cores, memory, GPUs, time limit, partition, account and QOS become sbatch options; sbatch's
  refusal is shown as it printed it, and nothing is recorded.
* The command runs in the directory ``canfar create`` was run from, through apptainer or
  singularity when the image is a ``docker://`` or ``.sif`` reference and one of them is
  installed, otherwise in the nodes' own environment; launches say which.
* States come from ``squeue`` while the controller remembers the job, then from ``sacct`` where
  accounting exists, then from the exit code each task writes beside its log.
* ``delete`` cancels with ``scancel`` (one task, or a whole array given as ``JOBID``) every task
  not known to have ended, a task Slurm did not report included, and forgets the sessions and
  their logs; a task still stopping is listed as Terminating until it ends.
* A task Slurm does not report is shown Failed for that look only: one garbled answer is never
  final. A damaged record is named with its remedy, and its job asked of Slurm.
"""

from __future__ import annotations

import builtins
import contextlib
import getpass
import os
import re
import shlex
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from canfar_core.backend import Backend, follow_file
from canfar_core.contexts import Context
from canfar_core.errors import CanfarError, NotFound, Unsupported, ValidationError
from canfar_core.models import LaunchResult, PlatformStats, SessionInfo, SessionSpec
from canfar_core.workdir import working_directory
from canfar_slurm import commands, runner, script, settings
from canfar_slurm.commands import TaskState
from canfar_slurm.ids import parse_id
from canfar_slurm.states import is_final, status_of
from canfar_slurm.store import ArrayRecord, Store

KINDS = ("headless",)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A task Slurm does not report this long after submission, with no exit code, is lost.
GRACE = 120.0
#: Every job canfar submits carries ``--comment=canfar:TOKEN``.
COMMENT_PREFIX = "canfar:"
#: The state of a task Slurm does not report and that recorded no exit code. Shown as Failed,
#: never kept as final: the next look asks Slurm again, and ``delete`` still cancels it.
UNKNOWN = "UNKNOWN"
#: What scancel says of a job or task the controller does not know (any more): it has ended.
ENDED_JOB = re.compile(r"Kill job error on job id (\S+): Invalid job id specified")


@dataclass(frozen=True)
class Plan:
    options: commands.JobOptions
    placement: script.Placement
    settings: settings.Settings


def iso(text: str | None) -> str | None:
    """Slurm's local ``2026-01-05T14:03:27`` as the platform's UTC ``2026-01-05T14:03:27Z``."""
    if not text:
        return None
    try:
        stamp = time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return text
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


class SlurmBackend(Backend):
    """Runs headless sessions as Slurm job arrays through Slurm's own commands."""

    name = "slurm"
    #: ``Session.create(partition=...)`` and the others a launch reads; any other name is a
    #: mistake named at once (or, when a plugin added it, a warning that it is ignored here).
    option_names = (*settings.KEYS, "workdir")

    def __init__(self, context: Context, root: Any = None) -> None:
        super().__init__(context)
        self.store = Store(root if root is not None else settings.state_root())
        #: The jobs whose damaged record this backend has named.
        self._warned: set[str] = set()

    # -- launching -----------------------------------------------------------------------

    def validate(self, spec: SessionSpec) -> None:
        """Refuse what a Slurm array cannot run, before anything is submitted."""
        self._plan(spec)

    def _plan(self, spec: SessionSpec) -> Plan:
        if spec.kind not in KINDS:
            raise Unsupported(
                f"{spec.kind} sessions are not available on the slurm backend "
                "(it runs headless sessions)"
            )
        if not spec.cmd:
            raise ValidationError(
                "a headless session on Slurm needs a command: canfar create headless IMAGE -- CMD"
            )
        for key in spec.env:
            if not ENV_NAME.match(key):
                raise ValidationError(f"environment variable name '{key}' is not valid on Slurm")
        chosen = settings.resolve(spec.options, self.context.options, settings.user_settings())
        workdir = working_directory(spec.options.get("workdir"))
        placement = script.place(spec.image, chosen.container, workdir)
        log_dir = os.path.abspath(chosen.log_dir or str(self.store.root / "logs"))
        options = commands.JobOptions(
            name=spec.name or "canfar",
            array=commands.array_spec(spec.replica_numbers()),
            log_pattern=os.path.join(log_dir, "%A_%a.out"),
            workdir=workdir,
            cpus=commands.cpus_for(spec.cores),
            mem_mb=commands.mem_mb_for(spec.ram),
            gpus=spec.gpus or None,
            time=chosen.time,
            partition=chosen.partition,
            account=chosen.account,
            qos=chosen.qos,
        )
        return Plan(options=options, placement=placement, settings=chosen)

    def create(self, spec: SessionSpec) -> LaunchResult:
        """Submit one array for the chosen replicas; sbatch's refusal is an error (exit 1)."""
        plan = self._plan(spec)
        log_dir = os.path.dirname(plan.options.log_pattern)
        self.store.private_folder(Path(log_dir))
        env = dict(spec.env)
        if spec.cores and "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(max(1, int(spec.cores)))
        command = [str(spec.cmd), *spec.args]
        batch = script.batch_script(
            command=command,
            env=env,
            replicas=spec.replicas,
            placement=plan.placement,
            exit_dir=log_dir,
            gpus=spec.gpus,
        )
        token = uuid.uuid4().hex
        argv = commands.sbatch_argv(replace(plan.options, comment=f"{COMMENT_PREFIX}{token}"))
        tasks = spec.replica_numbers()
        record = ArrayRecord(
            job="",
            name=(spec.name or "canfar").lower(),
            kind=spec.kind,
            image=spec.image,
            replicas=spec.replicas,
            tasks=tasks,
            command=command,
            workdir=plan.options.workdir,
            log_dir=log_dir,
            runs_in=plan.placement.describe(),
            created=time.time(),
            cores=spec.cores,
            ram=spec.ram,
            gpus=spec.gpus,
            partition=plan.settings.partition,
            account=plan.settings.account,
            time_limit=plan.settings.time,
        )
        # Recorded before sbatch runs: if canfar is killed after sbatch submitted, the next
        # look finds the job by its comment (see _adopt) instead of losing it.
        self.store.begin(token, record)
        try:
            output = runner.run(argv, stdin=batch, env=runner.submit_environment())
            record.job = commands.parse_sbatch(output)
        except runner.SlurmCommandFailed as exc:
            self.store.finish(token, None)
            raise CanfarError(f"sbatch refused the request: {exc.output}") from None
        except runner.SlurmTimeout:
            raise  # submitted or not: the next look finds out (see _adopt)
        except CanfarError:
            self.store.finish(token, None)  # not installed, or no controller: nothing submitted
            raise
        except ValueError as exc:  # sbatch said it succeeded but printed no job id
            raise CanfarError(str(exc)) from None
        self.store.finish(token, record)
        job = record.job
        if plan.placement.runtime == script.HOST:
            from canfar_core.output import warn_once

            why = (
                "no apptainer or singularity here"
                if script.runnable_image(spec.image)
                else "give the image as docker://... or a .sif file to run in it"
            )
            warn_once(
                f"Slurm job {job} runs in the host environment of the cluster's nodes, "
                f"not in the image {spec.image} ({why})"
            )
        return LaunchResult(ids=[f"{job}_{task}" for task in tasks])

    # -- states --------------------------------------------------------------------------

    def _adopt(self) -> None:
        """Record the jobs of launches interrupted between sbatch and recording the job id.

        A launch not found in Slurm after :data:`GRACE` seconds was never submitted; only an
        answer read whole says so (a garbled one is asked again at the next look).
        """
        unfinished = self.store.unfinished()
        if not unfinished:
            return
        output = runner.run(commands.squeue_mine_argv())
        jobs = commands.parse_comments(output)
        trusted = commands.comments_readable(output)
        now = time.time()
        for token, record in unfinished:
            job = jobs.get(f"{COMMENT_PREFIX}{token}")
            if job is not None:
                record.job = job
                self.store.finish(token, record)
            elif trusted and now - record.created > GRACE:
                self.store.finish(token, None)

    def _states(self, records: builtins.list[ArrayRecord]) -> dict[str, TaskState]:
        """The state of every task of ``records``: cached final ones, then Slurm's answers."""
        states: dict[str, TaskState] = {}
        wanted: dict[str, ArrayRecord] = {}
        for record in records:
            for task in record.tasks:
                cached = record.final.get(str(task))
                # UNKNOWN was cached by earlier versions: asked again, it is never final.
                if cached is not None and cached.get("state") != UNKNOWN:
                    states[f"{record.job}_{task}"] = TaskState(**cached)
                else:
                    wanted[f"{record.job}_{task}"] = record
        if not wanted:
            return states
        jobs = sorted({record.job for record in wanted.values()}, key=int)
        seen = commands.parse_squeue(runner.run(commands.squeue_argv(jobs)))
        missing = [task for task in wanted if task not in seen]
        if missing and runner.available("sacct"):
            missing_jobs = sorted({task.split("_")[0] for task in missing}, key=int)
            with contextlib.suppress(runner.SlurmCommandFailed):  # no accounting here
                accounted = commands.parse_sacct(runner.run(commands.sacct_argv(missing_jobs)))
                seen.update({k: v for k, v in accounted.items() if k in wanted})
        now = time.time()
        finals: dict[str, dict[str, dict[str, Any]]] = {}
        for task_id, record in wanted.items():
            task = int(task_id.split("_")[1])
            state = seen.get(task_id)
            code = _read_exit(record.exit_path(task))
            if state is None:
                if code is not None:
                    state = TaskState(
                        id=task_id,
                        state="COMPLETED" if code == 0 else "FAILED",
                        exit_code=code,
                        reason="Slurm no longer reports this task; its exit code was recorded",
                    )
                elif task in record.deleted:  # a pending task cancelled leaves no trace
                    state = TaskState(id=task_id, state="CANCELLED", reason="deleted")
                elif now - record.created < GRACE:
                    state = TaskState(id=task_id, state="PENDING", reason="Submitted")
                else:
                    # Not final: one answer squeue printed garbled, or cut short, must not
                    # end a task that runs on. The next look asks again.
                    state = TaskState(
                        id=task_id,
                        state=UNKNOWN,
                        reason="Slurm no longer reports this task and it recorded no exit code",
                    )
                    states[task_id] = state
                    continue
            elif is_final(state.state) and state.exit_code is None and code is not None:
                state = TaskState(**{**asdict(state), "exit_code": code})
            if is_final(state.state):
                finals.setdefault(record.job, {})[str(task)] = asdict(state)
            states[task_id] = state
        for job, found in finals.items():

            def keep(record: ArrayRecord, found: dict[str, Any] = found) -> bool:
                record.final.update(found)
                return True

            self.store.change(job, keep)
        return states

    def _status(self, record: ArrayRecord, task: int, state: TaskState) -> str:
        if state.state == UNKNOWN:
            return "Failed"
        status = status_of(state.state)
        if task in record.deleted and status in ("Pending", "Running"):
            return "Terminating"
        return status

    def _info(self, record: ArrayRecord, task: int, state: TaskState) -> SessionInfo:
        status = self._status(record, task, state)
        extra: dict[str, Any] = {
            "replica": task,
            "replicas": record.replicas,
            "slurm_job": record.job,
            "slurm_state": state.state,
            "slurm_reason": state.reason,
            "partition": state.partition or record.partition,
            "account": record.account,
            "time_limit": record.time_limit,
            "nodes": state.nodes,
            "submit_time": iso(state.submit),
            "end_time": iso(state.end) if status in ("Completed", "Failed") else None,
            "command": shlex.join(record.command),
            "workdir": record.workdir,
            "runs_in": record.runs_in,
            "log": str(record.log_path(task)),
        }
        if state.signal:
            extra["signal"] = state.signal
        return SessionInfo(
            id=f"{record.job}_{task}",
            name=record.task_name(task),
            kind=record.kind,
            image=record.image,
            status=status,
            backend=self.name,
            start_time=iso(state.start) if status != "Pending" else None,
            cores=record.cores,
            ram=record.ram,
            gpus=record.gpus,
            exit_code=state.exit_code,
            user=_user(),
            extra=extra,
        )

    def _visible(self, record: ArrayRecord, task: int, state: TaskState) -> bool:
        """A deleted task is shown only while Slurm is still ending it."""
        return task not in record.deleted or not (is_final(state.state) or state.state == UNKNOWN)

    def _forget_ended_deletions(self, record: ArrayRecord, states: dict[str, TaskState]) -> None:
        gone = [
            task
            for task in record.deleted
            if (state := states.get(f"{record.job}_{task}")) is not None
            and not self._visible(record, task, state)
        ]
        if gone:
            self._forget(record.job, gone)

    # -- looking -------------------------------------------------------------------------

    def _salvage(self, jobs: Iterable[str]) -> dict[str, ArrayRecord]:
        """Stand-ins for the damaged records of ``jobs``, with the tasks Slurm reports: a
        damaged file never hides a job that runs. Each damaged record is named once."""
        damaged = sorted(
            (job for job in set(jobs) if self.store.get(job) is None and job in self.store.damaged),
            key=int,
        )
        if not damaged:
            return {}
        from canfar_core.output import warn  # never silenced, even by -q: it says what to fix

        for job in damaged:
            if job not in self._warned:
                self._warned.add(job)
                warn(str(self.store.damaged[job]))
        reported = commands.parse_squeue(runner.run(commands.squeue_argv(damaged)))
        found: dict[str, ArrayRecord] = {}
        for job in damaged:
            tasks = sorted(
                int(task.split("_")[1]) for task in reported if task.split("_")[0] == job
            )
            found[job] = ArrayRecord(
                job=job,
                name=f"slurm-{job}",
                kind="headless",
                image="unknown (its record is damaged)",
                replicas=len(tasks),
                tasks=tasks,
                command=[],
                workdir="",
                log_dir=str(self.store.root / "logs"),
                runs_in="unknown (its record is damaged)",
                created=self.store.damaged_since(job) or 0.0,
            )
        return found

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        self._adopt()
        records = self.store.all()
        records += self._salvage(self.store.damaged).values()
        records = [r for r in records if kind is None or r.kind == kind]
        states = self._states(records)
        found = []
        for record in records:
            self._forget_ended_deletions(record, states)
            for task in record.tasks:
                state = states[f"{record.job}_{task}"]
                if not self._visible(record, task, state):
                    continue
                info = self._info(record, task, state)
                if status is None or info.status == status:
                    found.append(info)
        return found

    def _find(self, session_id: str) -> tuple[ArrayRecord, int, TaskState]:
        ref = parse_id(session_id)
        record = self.store.get(ref.job)
        if record is None:
            self._adopt()
            record = self.store.get(ref.job) or self._salvage([ref.job]).get(ref.job)
        if record is None or ref.task not in record.tasks:
            raise NotFound(f"session {session_id} not found")
        assert ref.task is not None
        state = self._states([record])[str(ref)]
        if not self._visible(record, ref.task, state):
            raise NotFound(f"session {session_id} not found (it was deleted)")
        return record, ref.task, state

    def info(self, session_id: str) -> SessionInfo:
        return self._info(*self._find(session_id))

    def logs(self, session_id: str) -> str:
        record, task, _ = self._find(session_id)
        try:
            data = record.log_path(task).read_bytes()
        except FileNotFoundError:
            return ""
        return data.decode("utf-8", errors="surrogateescape")  # exact: see Backend.logs

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """Yield the log as it grows, until the task has ended and all of it was yielded."""
        record, task, first = self._find(session_id)
        known: TaskState | None = first

        def ended() -> bool | None:
            nonlocal known
            state = known
            known = None
            if state is None:  # looked again after the first read
                try:
                    _, _, state = self._find(session_id)
                except NotFound:  # deleted while followed
                    return None
            return is_final(state.state) or state.state == UNKNOWN

        # each look asks squeue: spare the controller
        yield from follow_file(record.log_path(task), ended, max(1.0, poll))

    def events(self, session_id: str) -> str:
        record, task, state = self._find(session_id)
        rows: builtins.list[tuple[str | None, str, str]] = [
            (
                iso(state.submit) or _stamp(record.created),
                "Submitted",
                f"array task {task} of Slurm job {record.job} "
                f"(replica {task} of {record.replicas}), image {record.image}, "
                f"runs in {record.runs_in}, in {record.workdir}",
            )
        ]
        status = self._status(record, task, state)
        if status == "Pending":
            rows.append((_stamp(time.time()), "Waiting", f"{state.state}: {state.reason or ''}"))
        if state.start and status != "Pending":
            rows.append((iso(state.start), "Started", f"on {state.nodes or 'a node'}"))
        if status == "Terminating":
            rows.append((_stamp(time.time()), "Cancelling", "the session is being deleted"))
        if status in ("Completed", "Failed"):
            detail = state.state
            if state.exit_code is not None:
                detail += f", exit code {state.exit_code}"
            if state.reason and state.reason != "None":
                detail += f" ({state.reason})"
            rows.append((iso(state.end) or "", "Ended", f"{status}: {detail}"))
        widths = [
            max(len(str(row[i] or "")) for row in [("TIME", "EVENT", ""), *rows]) for i in (0, 1)
        ]
        lines = [f"{'TIME':<{widths[0]}}  {'EVENT':<{widths[1]}}  MESSAGE"]
        lines += [f"{t or '':<{widths[0]}}  {e:<{widths[1]}}  {m}" for t, e, m in rows]
        return "\n".join(lines) + "\n"

    # -- ending --------------------------------------------------------------------------

    def delete(self, session_ids: builtins.list[str]) -> dict[str, str | None]:
        """Cancel tasks (``JOBID_TASK``) or whole arrays (``JOBID``) and forget them."""
        refs = {sid: parse_id(sid, whole_array=True) for sid in dict.fromkeys(session_ids)}
        result: dict[str, str | None] = {}
        targets: dict[str, tuple[ArrayRecord, builtins.list[int]]] = {}
        salvaged = self._salvage({ref.job for ref in refs.values()})
        for sid, ref in refs.items():
            record = self.store.get(ref.job) or salvaged.get(ref.job)
            if record is None or (
                ref.task is not None and ref.task not in record.tasks and ref.job not in salvaged
            ):
                result[sid] = "not found"
                continue
            tasks = record.tasks if ref.task is None else [ref.task]
            if ref.task is not None and ref.task not in record.tasks:  # a damaged record's
                record.tasks = [*record.tasks, ref.task]
            targets[sid] = (record, builtins.list(tasks))
        records = {record.job: record for record, _ in targets.values()}
        states = self._states(builtins.list(records.values())) if records else {}
        # Anything not known to have ended is cancelled, a task Slurm did not report too.
        to_cancel: builtins.list[str] = []
        for sid, (record, tasks) in targets.items():
            active = [t for t in tasks if not is_final(states[f"{record.job}_{t}"].state)]
            if refs[sid].task is None and (active or record.job in salvaged):
                to_cancel.append(record.job)
            else:
                to_cancel += [f"{record.job}_{t}" for t in active]
        failure: str | None = None
        ended: set[str] = set()
        if to_cancel:
            try:
                runner.run(commands.scancel_argv(to_cancel))
            except runner.SlurmCommandFailed as exc:
                gone = _ended(exc.output)
                if gone is None:
                    failure = f"scancel refused: {exc.output}"
                else:
                    ended = gone
        for sid, (record, tasks) in targets.items():
            if failure is not None:
                result[sid] = failure
                continue
            active = [
                t
                for t in tasks
                if not is_final(states[f"{record.job}_{t}"].state)
                and record.job not in ended
                and f"{record.job}_{t}" not in ended
            ]
            if record.job in salvaged:
                if refs[sid].task is None:
                    self.store.remove_damaged(record.job)
            else:
                self._forget(record.job, [t for t in tasks if t not in active], terminating=active)
            result[sid] = None
        return {sid: result[sid] for sid in refs}

    def _forget(
        self,
        job: str,
        tasks: builtins.list[int],
        terminating: Sequence[int] = (),
    ) -> None:
        """Drop ``tasks`` (and their logs); mark ``terminating`` ones deleted until they end."""

        def edit(record: ArrayRecord) -> bool:
            for task in [*tasks, *terminating]:
                for path in (record.log_path(task), record.exit_path(task)):
                    with contextlib.suppress(OSError):
                        path.unlink()
            record.tasks = [t for t in record.tasks if t not in tasks]
            record.deleted = sorted(
                {t for t in [*record.deleted, *terminating] if t in record.tasks}
            )
            for task in tasks:
                record.final.pop(str(task), None)
            return bool(record.tasks)

        self.store.change(job, edit)

    # -- the cluster ---------------------------------------------------------------------

    def whoami(self) -> str | None:
        """The user jobs run as: the account canfar runs under (no credentials are kept).

        The controller must answer (``scontrol ping``): a login, or ``auth status``, on a
        machine whose controller is unreachable says so instead of that all is well.
        """
        if not runner.available("sbatch"):
            raise runner.SlurmMissing(
                "Slurm's sbatch command is not installed here",
                hint="run canfar on a login node of the cluster, or load its Slurm module",
            )
        runner.controller_state()
        return _user()

    def stats(self) -> PlatformStats:
        """CPUs of the cluster from ``sinfo`` (allocated/idle/other/total)."""
        output = runner.run(["sinfo", "--noheader", "--format=%C"])
        try:
            allocated, idle, other, total = (int(x) for x in output.strip().split("/"))
        except ValueError:
            raise CanfarError(f"sinfo printed an unexpected line: {output.strip()!r}") from None
        return PlatformStats(
            cores_requested=float(allocated),
            cores_available=float(total),
            extra={"cores_idle": idle, "cores_other": other},
        )


def _ended(output: str) -> set[str] | None:
    """The ids scancel said it does not know (they have ended), when that is all it said;
    ``None`` when it refused for another reason."""
    parts = [part.strip() for part in output.split("; ") if part.strip()]
    found = [ENDED_JOB.fullmatch(part) for part in parts]
    if not parts or not all(found):
        return None
    return {match.group(1) for match in found if match}


def _read_exit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
