"""The local backend: sessions are process groups on this machine.

What a user can rely on:

* Each replica is a detached process group (it outlives ``canfar``) with ``REPLICA_ID`` (1-based)
  and ``REPLICA_COUNT`` set as the platform sets them, plus ``skaha_sessionid`` and, when cores
  are requested, ``OMP_NUM_THREADS``.
* It runs in the directory ``canfar create`` was run from (or ``workdir=`` in the Python API),
  so ``python examples/echo.py`` finds its script. The directory is recorded and shown by
  ``info``.
* Its standard output and error go, interleaved as written, to one log file; its exit code is
  recorded by a small shell wrapper, even after ``canfar`` has exited.
* With no container runtime chosen, the command runs in this machine's environment, the one
  ``canfar`` runs in (its virtual environment counts as activated, so ``python`` is the
  interpreter canfar runs in), and the image is only recorded. The ``runtime`` option
  (``apptainer``, ``podman``, ``docker`` or ``auto``) runs it in the image instead.
* Requests for cores, RAM and GPUs are checked against the machine; on the host they are not
  enforced (container runtimes do enforce cores and memory).
* Sessions are kept until deleted: finished ones stay listed with their logs, as a record of
  what ran. ``delete`` stops every process of the replica (its process group, and children that
  left it, found by the marker in their environment) and forgets the session and its log; a
  process it could not stop is named, and the session kept.
* Each replica is recorded before its process starts: a ``canfar create`` killed half-way (even
  with ``kill -9``) leaves replicas that ``ps`` shows and ``delete`` stops, never hidden ones.
"""

from __future__ import annotations

import builtins
import contextlib
import getpass
import os
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from canfar_core.backend import Backend, follow_file
from canfar_core.contexts import Context
from canfar_core.errors import (
    CanfarError,
    LaunchInterrupted,
    NotFound,
    Unsupported,
    ValidationError,
)
from canfar_core.models import (
    ACTIVE_STATUSES,
    LIVE_STATUSES,
    Image,
    LaunchResult,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionSpec,
)
from canfar_core.workdir import working_directory
from canfar_plugins.local import machine, notebook, processes, runtime
from canfar_plugins.local.state import DamagedDatabase, DiskFull, Record, Store, new_id
from canfar_plugins.local.storage import arc_folder

#: Kinds that can run here; the others need the platform.
LOCAL_KINDS = ("headless", "notebook")
#: A record that never got its process after this many seconds was left by an interrupted launch.
LAUNCH_TIMEOUT = 60.0
#: Seconds between the transactions that record the process groups of a launch's replicas.
RECORD_INTERVAL = 0.1
RUNTIME_SETTING = "plugins.local.runtime"
#: The shape of a local session id (see ``state.new_id``).
SESSION_ID = re.compile(r"[a-z][a-z0-9]{7}")
#: Files that mark a virtual environment made by a tool installer (pipx, uv tool).
TOOL_ENV_MARKERS = ("pipx_metadata.json", "uv-receipt.toml")


def iso(timestamp: float | None) -> str | None:
    """A Unix time as the platform writes it: ``2026-01-05T14:03:27Z``."""
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def describe_exit(code: int) -> str:
    """An exit code in words: ``exit code 137 (SIGKILL)`` for one killed by a signal."""
    if code > 128:
        try:
            return f"exit code {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exit code {code}"


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


#: Whether this process has said that replicas run without a container runtime.
_said_no_container_runtime = False


def _note_no_container_runtime(image: str) -> None:
    """Say once per process that replicas run in this machine's environment, and how to choose
    a runtime: the ``--runtime`` option from the command line, the ``runtime=`` argument from
    Python (a notebook launching in a loop is told once, not at every call)."""
    global _said_no_container_runtime
    if _said_no_container_runtime:
        return
    _said_no_container_runtime = True
    from canfar_core.output import warn

    click = sys.modules.get("click")
    on_command_line = click is not None and click.get_current_context(silent=True) is not None
    if on_command_line:
        how = f"--runtime {'|'.join(runtime.CONTAINER_RUNTIMES)}"
    else:
        how = "the argument runtime=" + " or ".join(repr(n) for n in runtime.CONTAINER_RUNTIMES)
    warn(
        f"no container runtime: running in this machine's environment, not in the image "
        f"{image} (choose one with {how})"
    )


class LocalBackend(Backend):
    """Runs sessions as detached process groups on this machine."""

    name = "local"
    #: The keyword options ``Session.create`` passes through to this backend.
    option_names = ("runtime", "workdir")
    #: Seconds a deleted session is given to end after SIGTERM, before SIGKILL.
    grace = 3.0

    def __init__(self, context: Context, root: Path | None = None) -> None:
        super().__init__(context)
        if root is None:
            from canfar_core.config import state_dir

            root = state_dir() / "local"
        self.store = Store(root)
        self._warned: set[str] = set()
        self._said_damaged = False

    # -- launching -------------------------------------------------------------------------

    def validate(self, spec: SessionSpec) -> None:
        """Refuse what this machine cannot run, naming the value and the machine's limit."""
        self._plan(spec)

    def _requested_runtime(self, spec: SessionSpec) -> str | None:
        """The runtime asked for: the ``runtime`` option, else the ``plugins.local.runtime``
        setting, else ``None`` (this machine's environment)."""
        requested = spec.options.get("runtime")
        if not requested:
            from canfar_core.config import config_file, get_path

            store = config_file()
            try:
                requested = get_path(store.read(), RUNTIME_SETTING)
            except KeyError:
                return None
            if not isinstance(requested, str):
                from canfar_core.errors import ConfigError

                raise ConfigError(
                    f"{RUNTIME_SETTING} in {store.path} must be a runtime name, not "
                    f"{requested!r}; set it with: canfar config set {RUNTIME_SETTING} "
                    f"{'|'.join(runtime.RUNTIMES)}"
                )
        return str(requested).strip().lower() or None

    def _plan(self, spec: SessionSpec) -> tuple[str, str]:
        """Check ``spec`` against this machine; returns the runtime and working directory."""
        if spec.kind not in LOCAL_KINDS:
            raise Unsupported(
                f"{spec.kind} sessions are not available on the local backend "
                f"(it runs {' and '.join(LOCAL_KINDS)} sessions)",
                hint="log in to CANFAR to run them: canfar auth login",
            )
        cpus = machine.cpu_count()
        if spec.cores is not None and spec.cores > cpus:
            raise ValidationError(
                f"cores {spec.cores:g} is more than this machine has ({cpus} CPUs)"
            )
        memory = machine.total_memory_gb()
        if spec.ram is not None and memory and spec.ram > memory:
            raise ValidationError(
                f"ram {spec.ram:g} GB is more than this machine has ({memory:.1f} GB)"
            )
        if spec.gpus:
            gpus = machine.gpu_count()
            if spec.gpus > gpus:
                raise ValidationError(
                    f"gpus {spec.gpus} is more than this machine has ({gpus} GPUs)"
                )
        chosen = runtime.choose(self._requested_runtime(spec))
        if chosen == runtime.HOST:
            if spec.kind == "headless" and not spec.cmd:
                raise ValidationError(
                    "a headless session on this machine needs a command: "
                    "canfar create headless IMAGE -- CMD ARGS"
                )
            if spec.kind == "notebook":
                notebook.require_jupyter_lab()
        return chosen, working_directory(spec.options.get("workdir"))

    def create(self, spec: SessionSpec) -> LaunchResult:
        """Start a detached process group per chosen replica; one that fails leaves the others.

        Write-ahead: every replica is recorded before its process starts, and the process
        carries its session id (:data:`processes.MARKER`), so a ``canfar`` killed half-way
        leaves no process that ``ps`` cannot show or ``delete`` cannot stop.
        """
        chosen, workdir = self._plan(spec)
        processes.reap()  # collect replicas this process started before, now ended
        name = (spec.name or spec.image.rsplit("/", 1)[-1].split(":", 1)[0] or "session").lower()
        command = [spec.cmd, *spec.args] if spec.cmd else list(spec.args)
        now = time.time()
        launcher = {"pid": os.getpid(), "mark": processes.start_mark(os.getpid())}
        records = [
            Record(
                id=new_id(),
                name=spec.replica_name(replica).lower() if spec.name else name,
                kind=spec.kind,
                image=spec.image,
                status="Pending",
                replica=replica,
                replicas=spec.replicas,
                command=command,
                workdir=workdir,
                runtime=chosen,
                cores=spec.cores,
                ram=spec.ram,
                gpus=spec.gpus,
                created=now,
                extra={"launcher": launcher},
            )
            for replica in spec.replica_numbers()
        ]
        secrets = [self._prepare(record) for record in records]
        self.store.insert(records)
        if chosen == runtime.HOST and self._requested_runtime(spec) in (None, runtime.AUTO):
            _note_no_container_runtime(spec.image)
        base_env = _host_env()
        started: list[str] = []
        failures: dict[int, str] = {}
        unrecorded: dict[str, tuple[Record, dict[str, Any]]] = {}
        flushed = time.monotonic()
        interrupted = False
        try:
            for record, secret_env in zip(records, secrets, strict=True):
                try:
                    unrecorded[record.id] = (
                        record,
                        self._start(record, spec, base_env, secret_env),
                    )
                except (OSError, CanfarError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    failures[record.replica] = f"could not start: {reason}"
                # Processes are found by their marker until then: recording them in batches
                # keeps a launch of hundreds of replicas to a few transactions.
                if time.monotonic() - flushed > RECORD_INTERVAL:
                    self._record_starts(unrecorded, started, failures)
                    flushed = time.monotonic()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            # Even when interrupted (Ctrl-C), what was started is recorded; records whose
            # process never started are forgotten (a process found by its marker is kept).
            try:
                self._record_starts(unrecorded, started, failures)
            finally:
                done = set(started)
                self._settle([r for r in records if r.id not in done], started)
        with contextlib.suppress(CanfarError):  # a convenience: never fails a launch
            self.store.record_image(spec.image, spec.kind)
        if interrupted:
            order = {r.id: r.replica for r in records}
            started.sort(key=order.__getitem__)
            done = set(started)
            raise LaunchInterrupted(
                f"interrupted: {len(started)} of {len(records)} replicas launched",
                ids=started,
                failures=failures,
                not_sent=[
                    r.replica for r in records if r.id not in done and r.replica not in failures
                ],
            )
        return LaunchResult(ids=started, failures=failures)

    def _record_starts(
        self,
        unrecorded: dict[str, tuple[Record, dict[str, Any]]],
        started: builtins.list[str],
        failures: dict[int, str],
    ) -> None:
        """Record the replicas started since the last call; stop those deleted meanwhile."""
        if not unrecorded:
            return
        refused = self.store.record_starts((sid, c) for sid, (_, c) in unrecorded.items())
        for session_id, (record, changes) in unrecorded.items():
            if session_id in refused:
                processes.stop({session_id: (changes["pgid"], changes["start_mark"])}, 0.0)
                failures[record.replica] = "deleted while it was being launched"
            else:
                started.append(session_id)
        unrecorded.clear()

    def _prepare(self, record: Record) -> dict[str, str]:
        """Fill in what a replica will run before it is recorded (a notebook's port, URL and
        command); returns the secret variables it gets, which are never recorded."""
        if record.kind != "notebook":
            return {}
        inside = record.runtime in ("docker", "podman")
        plan = notebook.plan(
            record.workdir,
            in_container=record.runtime != runtime.HOST,
            container_port=notebook.CONTAINER_PORT if inside else None,
        )
        record.command = plan.command
        record.connect_url = plan.url
        record.extra["port"] = plan.port
        return {"JUPYTER_TOKEN": plan.token}

    def _start(
        self,
        record: Record,
        spec: SessionSpec,
        base_env: dict[str, str],
        secret_env: dict[str, str],
    ) -> dict[str, Any]:
        """Start one recorded replica; returns the fields to record for it."""
        replica_env = spec.replica_env(record.replica)
        replica_env["skaha_sessionid"] = record.id
        if spec.cores and "OMP_NUM_THREADS" not in spec.env:
            replica_env["OMP_NUM_THREADS"] = str(max(1, int(spec.cores)))
        replica_env.update(secret_env)
        extra = dict(record.extra)
        argv = record.command
        if record.runtime != runtime.HOST:
            publish = None
            if record.kind == "notebook" and record.runtime in ("docker", "podman"):
                publish = (extra["port"], notebook.CONTAINER_PORT)
            launch = runtime.container_command(
                record.runtime,
                session_id=record.id,
                image=record.image,
                command=record.command,
                workdir=record.workdir,
                env_names=sorted(replica_env),
                cores=record.cores,
                ram=record.ram,
                gpus=record.gpus,
                publish=publish,
                arc=str(arc_folder(create=True)),
            )
            argv = launch.argv
            extra["image_reference"] = runtime.image_reference(record.image)
            if launch.container:
                extra["container"] = launch.container
        env = {**base_env, **replica_env, processes.MARKER: record.id}
        if record.runtime == runtime.HOST and argv:
            missing = _not_on_path(argv[0], env.get("PATH", ""))
            if missing:  # the shell will say "not found" and exit 127; say why first
                extra["not_found"] = missing
                _log_line(str(self.store.log_path(record.id)), f"canfar: {missing}")
        proc = processes.spawn(
            argv,
            workdir=record.workdir,
            env=env,
            log=str(self.store.log_path(record.id)),
            exit_file=str(self.store.exit_path(record.id)),
        )
        return {
            "status": "Pending" if record.kind == "notebook" else "Running",
            "pgid": proc.pgid,
            "start_mark": proc.start_mark,
            "started": time.time(),
            "extra": extra,
        }

    def _settle(self, unstarted: builtins.list[Record], started: builtins.list[str]) -> None:
        """After a launch ends (or is interrupted): forget the records whose process never
        started, and keep (with its process group) any that did start unrecorded."""
        if not unstarted:
            return
        found = processes.marked(r.id for r in unstarted)
        adopted = []
        for record in unstarted:
            group = processes.adopt(found[record.id]) if found[record.id] else None
            if group is not None:
                status = "Pending" if record.kind == "notebook" else "Running"
                changes = {"status": status, "pgid": group.pgid, "start_mark": group.start_mark}
                adopted.append(record.id)
                self.store.record_starts([(record.id, {**changes, "started": time.time()})])
        started.extend(adopted)
        self.store.remove([r.id for r in unstarted if r.id not in adopted])

    # -- keeping records true ----------------------------------------------------------------

    def _refresh(self, records: Iterable[Record]) -> None:
        """Bring live records up to date with their processes (in place, and in the database)."""
        changes = []
        now = time.time()
        live = [r for r in records if r.status in LIVE_STATUSES]
        # Replicas whose launch has not recorded their process group (yet, or ever: a killed
        # canfar) are found by the marker in their processes' environment.
        unrecorded = [r.id for r in live if r.pgid is None]
        found = processes.marked(unrecorded) if unrecorded else {}
        for record in live:
            change = _abandoned_delete(record)
            record.__dict__.update(change)
            observed = self._observe(record, now, found.get(record.id, []))
            record.__dict__.update(observed)
            change.update(observed)
            if change:
                changes.append((record.id, change))
        # Locked, read-only or full: the records are shown true anyway, and saved by a later
        # command.
        with contextlib.suppress(CanfarError):
            self.store.update(changes, only_active=True, wait=False)

    def _observe(self, record: Record, now: float, marked: builtins.list[int]) -> dict[str, Any]:
        if record.pgid is None:
            return self._observe_unrecorded(record, now, marked)
        # Liveness first: a group gone now wrote its exit code (if ever) before it went.
        alive = processes.group_alive(record.pgid, record.start_mark)
        exit_path = self.store.exit_path(record.id)
        code = processes.read_exit(str(exit_path))
        if code is not None:
            try:
                ended = exit_path.stat().st_mtime
            except OSError:
                ended = now
            return {
                "status": "Completed" if code == 0 else "Failed",
                "exit_code": code,
                "ended": ended,
                "reason": _exit_reason(record, code),
            }
        if alive:
            port = record.extra.get("port")
            if record.status == "Pending" and port and notebook.listening(int(port)):
                return {"status": "Running"}
            return {}
        return {
            "status": "Failed",
            "exit_code": None,
            "ended": now,
            "reason": self._no_exit_code(record),
        }

    def _no_exit_code(self, record: Record) -> str:
        """Why a replica that ended has no exit code: what is known, never a guess."""
        said = "the process ended without recording an exit code"
        exit_path = self.store.exit_path(record.id)
        if exit_path.with_name(exit_path.name + processes.STOPPED_SUFFIX).exists():
            last = _last_line(self.store.log_path(record.id)) or ""
            # The shell's own message names it: "canfar-replica: 1: Cannot fork".
            why = f" ({last})" if last.startswith(f"{processes.WRAPPER_NAME}:") else ""
            return f"{said}: its wrapper stopped before the command ended{why}"
        if self.store.disk_full():
            return f"{said}: the disk holding {self.store.exit_dir} is full"
        return said

    def _observe_unrecorded(
        self, record: Record, now: float, marked: builtins.list[int]
    ) -> dict[str, Any]:
        """A replica recorded before its process started, with no process group yet."""
        code = processes.read_exit(str(self.store.exit_path(record.id)))
        if code is not None:  # it ran, and ended, before its launch could record it
            return {
                "status": "Completed" if code == 0 else "Failed",
                "exit_code": code,
                "ended": now,
                "reason": _exit_reason(record, code),
            }
        group = processes.adopt(marked) if marked else None
        if group is not None:
            return {
                "status": "Pending" if record.kind == "notebook" else "Running",
                "pgid": group.pgid,
                "start_mark": group.start_mark,
                "started": now,
            }
        launcher = record.extra.get("launcher")
        launching = isinstance(launcher, dict) and processes.alive(
            launcher.get("pid"), launcher.get("mark")
        )
        if launching and now - record.created <= LAUNCH_TIMEOUT:
            return {}
        return {
            "status": "Failed",
            "ended": now,
            "reason": "the launch was interrupted before the process started",
        }

    def _record(self, session_id: str) -> Record:
        record = self.store.get(session_id)
        if record is None:
            raise NotFound(f"session {session_id} not found")
        self._refresh([record])
        return record

    def _infos(self, records: builtins.list[Record]) -> builtins.list[SessionInfo]:
        """What the user sees of ``records``; what is the same for all of them is found once."""
        live = [r.pgid for r in records if r.pgid is not None and r.status in LIVE_STATUSES]
        memory = processes.group_memory(live) if live else {}
        user = _user()
        logs = str(self.store.logs_dir)
        return [self._info(record, memory, user, logs) for record in records]

    def _info(
        self, record: Record, memory: dict[int, int], user: str | None, logs: str
    ) -> SessionInfo:
        ram_in_use = None
        if record.pgid is not None and record.status in LIVE_STATUSES:
            used = memory.get(record.pgid)
            ram_in_use = round(used / machine.GIB, 2) if used else None
        extra: dict[str, Any] = {
            "replica": record.replica,
            "replicas": record.replicas,
            "command": shlex.join(record.command),
            "workdir": record.workdir,
            "runtime": record.runtime,
            "log": os.path.join(logs, f"{record.id}.log"),
            "pgid": record.pgid,
            "created": iso(record.created),
            "end_time": iso(record.ended),
            "reason": record.reason,
        }
        extra.update(
            {k: v for k, v in record.extra.items() if k in ("image_reference", "container")}
        )
        return SessionInfo(
            id=record.id,
            name=record.name,
            kind=record.kind,
            image=record.image,
            status=record.status,
            backend=self.name,
            start_time=iso(record.started),
            connect_url=record.connect_url,
            cores=record.cores,
            ram=record.ram,
            gpus=record.gpus,
            ram_in_use=ram_in_use,
            exit_code=record.exit_code,
            user=user,
            extra=extra,
        )

    # -- looking -----------------------------------------------------------------------------

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        return self.list_matching(kind, None if status is None else (status,))

    def list_matching(
        self, kind: str | None = None, statuses: Collection[str] | None = None
    ) -> builtins.list[SessionInfo]:
        """Only the records asked for are read: the live ones first, to bring them up to date
        (a finished process changes its record's status), then those wanted, if others are.

        With the database damaged, the sessions whose processes run are listed, found by
        their marker (all that can be known of them), so that ``delete --all`` stops them."""
        try:
            return self._list_matching(kind, statuses)
        except DamagedDatabase as exc:
            self._say_damaged(exc)
            if kind is not None or (statuses is not None and "Running" not in statuses):
                return []
            return [_found_running(sid, pids) for sid, pids in self._running_by_marker().items()]

    def _running_by_marker(self) -> dict[str, builtins.list[int]]:
        """The sessions of this state folder (their log is in it) whose processes run."""
        found = processes.all_marked()
        return {
            sid: pids
            for sid, pids in found.items()
            if SESSION_ID.fullmatch(sid) and self.store.log_path(sid).exists()
        }

    def _say_damaged(self, exc: DamagedDatabase) -> None:
        from canfar_core.output import warn

        if not self._said_damaged:
            self._said_damaged = True
            warn(str(exc))

    def _list_matching(
        self, kind: str | None, statuses: Collection[str] | None
    ) -> builtins.list[SessionInfo]:
        live = self.store.select(kind=kind, statuses=LIVE_STATUSES)
        self._refresh(live)
        if statuses is not None and set(statuses) <= set(LIVE_STATUSES):
            chosen = [r for r in live if r.status in statuses]
        else:
            # The live records as just observed, not as saved (the save may not have happened).
            refreshed = {r.id: r for r in live}
            chosen = [refreshed.pop(r.id, r) for r in self.store.select(kind, statuses)]
            if refreshed:
                chosen += refreshed.values()
                chosen.sort(key=lambda r: (r.created, r.replica, r.id))
            if statuses is not None:
                chosen = [r for r in chosen if r.status in statuses]
        self._warn_damaged()
        return self._infos(chosen)

    def _warn_damaged(self) -> None:
        """Name, once each, the damaged rows met so far (they are left out of listings)."""
        from canfar_core.output import warn

        for session_id, damage in self.store.damaged.items():
            if session_id not in self._warned:
                self._warned.add(session_id)
                warn(str(damage))

    def info(self, session_id: str) -> SessionInfo:
        return self._infos([self._record(session_id)])[0]

    def logs(self, session_id: str) -> str:
        self._record(session_id)
        try:
            data = self.store.log_path(session_id).read_bytes()
        except FileNotFoundError:
            return ""
        return data.decode("utf-8", errors="surrogateescape")  # exact: see Backend.logs

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """Yield the log as it grows, until the session has ended and all of it was yielded."""
        record: Record | None = self._record(session_id)

        def ended() -> bool | None:
            nonlocal record
            if record is None:  # looked again after the first read
                current = self.store.get(session_id)
                if current is None:  # deleted while followed
                    return None
                self._refresh([current])
                record = current
            finished, record = record.status not in LIVE_STATUSES, None
            return finished

        interval = max(0.01, min(poll, 0.25))  # reading a local file is cheap
        yield from follow_file(self.store.log_path(session_id), ended, interval)

    def events(self, session_id: str) -> str:
        record = self._record(session_id)
        where = "this machine's environment" if record.runtime == runtime.HOST else record.runtime
        rows = [
            (
                iso(record.created),
                "Created",
                f"replica {record.replica} of {record.replicas}, image {record.image}, "
                f"runs in {where}, in {record.workdir}",
            )
        ]
        if record.started is not None:
            rows.append(
                (
                    iso(record.started),
                    "Started",
                    f"process group {record.pgid}: {shlex.join(record.command)}",
                )
            )
        if record.status in ("Completed", "Failed"):
            event = "Exited" if record.exit_code is not None else "Lost"
            rows.append((iso(record.ended), event, f"{record.status}: {record.reason or ''}"))
        elif record.status == "Terminating":
            rows.append((iso(time.time()), "Killing", "the session is being deleted"))
        widths = [max(len(str(row[i])) for row in [("TIME", "EVENT", ""), *rows]) for i in (0, 1)]
        lines = [f"{'TIME':<{widths[0]}}  {'EVENT':<{widths[1]}}  MESSAGE"]
        lines += [f"{t or '':<{widths[0]}}  {e:<{widths[1]}}  {m}" for t, e, m in rows]
        return "\n".join(lines) + "\n"

    def open_url(self, session_id: str) -> str:
        record = self._record(session_id)
        if not record.connect_url:
            raise Unsupported(f"session {session_id} is a {record.kind} session; it has no URL")
        if record.status not in ACTIVE_STATUSES:
            raise CanfarError(f"session {session_id} is {record.status}; there is nothing to open")
        return record.connect_url

    # -- ending ------------------------------------------------------------------------------

    def delete(self, session_ids: builtins.list[str]) -> dict[str, str | None]:
        """Stop every process of each replica and forget it.

        Its process group and every process carrying its marker are stopped (SIGTERM, then
        SIGKILL), so children that left the group (``setsid``, a double fork) go too. A session
        with a process that could not be stopped is kept, and said so.
        """
        wanted = builtins.list(dict.fromkeys(session_ids))
        result: dict[str, str | None] = {}
        found: dict[str, Record] = {}
        try:
            for session_id in wanted:
                record = self.store.get_any(session_id)  # a damaged one can still be deleted
                if record is None:
                    result[session_id] = "not found"
                else:
                    found[session_id] = record
        except DamagedDatabase as exc:
            return self._stop_by_marker(wanted, exc)
        # Terminating first: a launch still under way sees it and stops what it starts. On a
        # full disk that cannot be saved, but stopping and forgetting must still work. The
        # record names this command: should it die before the end, the next look shows the
        # session as it was (see _abandoned_delete), so ps lists it and delete --all stops it.
        deleter = {"pid": os.getpid(), "mark": processes.start_mark(os.getpid())}
        marked = {
            sid: _deleting(r, deleter) for sid, r in found.items() if r.status in LIVE_STATUSES
        }
        with contextlib.suppress(DiskFull):
            self.store.update(marked.items(), only_active=True)
        for session_id in found:  # a launch may have recorded a process group meanwhile
            found[session_id] = self.store.get_any(session_id) or found[session_id]
        try:
            left = processes.stop(
                {sid: (r.pgid, r.start_mark) for sid, r in found.items()}, self.grace
            )
        except BaseException:  # interrupted (Ctrl-C in a notebook): not being deleted any more
            self._undo_deleting(marked)
            raise
        self._undo_deleting({sid: marked[sid] for sid in marked if left.get(sid)})
        for session_id, record in found.items():
            container = record.extra.get("container") or runtime.container_name(
                record.runtime, session_id
            )
            if container:
                runtime.remove_container(record.runtime, container)
        gone = []
        for session_id in found:
            pids = left.get(session_id)
            if pids:
                shown = ", ".join(str(pid) for pid in pids[:10])
                more = f" and {len(pids) - 10} more" if len(pids) > 10 else ""
                result[session_id] = (
                    f"could not stop {len(pids)} of its processes (pid {shown}{more}); "
                    "it is kept: try again, or stop them yourself"
                )
            else:
                result[session_id] = None
                gone.append(session_id)
        try:
            self.store.remove(gone)
        except CanfarError as exc:
            stopped = ", ".join(gone)
            raise CanfarError(
                f"the processes of {stopped} were stopped, but the sessions could not be "
                f"forgotten: {exc}"
            ) from None
        return {sid: result[sid] for sid in wanted}

    def _stop_by_marker(
        self, wanted: builtins.list[str], exc: DamagedDatabase
    ) -> dict[str, str | None]:
        """With the database damaged: stop the processes that carry each session's marker
        (they cannot be forgotten until the database is moved aside, as ``exc`` says)."""
        self._say_damaged(exc)
        running = self._running_by_marker()
        targets = {sid: (None, None) for sid in wanted if sid in running}
        left = processes.stop(targets, self.grace) if targets else {}
        result: dict[str, str | None] = {}
        for sid in wanted:
            if sid not in targets:
                result[sid] = "not found among the running processes"
            elif left.get(sid):
                result[sid] = f"could not stop its processes (pid {', '.join(map(str, left[sid]))})"
            else:
                result[sid] = None
        return result

    def _undo_deleting(self, marked: dict[str, dict[str, Any]]) -> None:
        """Sessions this delete marked Terminating and keeps: shown as they were again."""
        with contextlib.suppress(CanfarError):
            self.store.update(
                [(sid, _not_deleting(changes)) for sid, changes in marked.items()],
                only_active=True,
            )

    def renew(self, session_ids: builtins.list[str]) -> dict[str, str | None]:
        """Local sessions have no deadline: renewing a pending or running one succeeds, changing
        nothing; one that has ended cannot be renewed, and says so."""
        results: dict[str, str | None] = {}
        for sid in dict.fromkeys(session_ids):
            record = self.store.get_any(sid)
            if record is None:
                results[sid] = "not found"
                continue
            self._refresh([record])
            if record.status in LIVE_STATUSES:
                results[sid] = None
            else:
                results[sid] = (
                    f"it has ended ({record.status}): a finished session cannot be renewed"
                )
        return results

    # -- this machine ------------------------------------------------------------------------

    def stats(self) -> PlatformStats:
        records = self.store.select(statuses=LIVE_STATUSES)
        self._refresh(records)
        active = [r for r in records if r.status in ACTIVE_STATUSES]
        extra: dict[str, Any] = {
            "host": socket.gethostname(),
            "sessions_pending": sum(1 for r in active if r.status == "Pending"),
            "ram_free_gb": _round(machine.available_memory_gb()),
        }
        if hasattr(os, "getloadavg"):
            extra["load_average"] = [round(v, 2) for v in os.getloadavg()]
        return PlatformStats(
            cores_requested=sum(r.cores or 0 for r in active),
            cores_available=float(machine.cpu_count()),
            ram_requested_gb=sum(r.ram or 0 for r in active),
            ram_available_gb=_round(machine.total_memory_gb()),
            sessions_running=sum(1 for r in active if r.status == "Running"),
            extra=extra,
        )

    def resources(self) -> ResourceContext:
        cpus = machine.cpu_count()
        memory = machine.total_memory_gb()
        return ResourceContext(
            cores=[float(n) for n in range(1, cpus + 1)],
            ram=[float(n) for n in range(1, int(memory) + 1)],
            gpus=list(range(1, machine.gpu_count() + 1)),
            extra={"host": socket.gethostname(), "max_ram_gb": _round(memory)},
        )

    def images(self, kind: str | None = None) -> builtins.list[Image]:
        """The images local sessions were created with, most recent first."""
        return [
            Image(id=image, types=kinds)
            for image, kinds in self.store.images().items()
            if kind is None or kind in kinds
        ]


def _found_running(session_id: str, pids: builtins.list[int]) -> SessionInfo:
    """A session known only by the marker its processes carry."""
    return SessionInfo(
        id=session_id,
        name=session_id,
        kind="unknown",
        image="unknown",
        status="Running",
        backend=LocalBackend.name,
        extra={
            "pids": sorted(pids),
            "reason": "found by its processes: the local session database is damaged",
        },
    )


def _deleting(record: Record, deleter: dict[str, Any]) -> dict[str, Any]:
    """The change that marks ``record`` Terminating by ``deleter`` (this command), keeping the
    status it had (that of an earlier, interrupted delete)."""
    before = record.status
    if before == "Terminating":
        before = record.extra.get("before_delete") or "Running"
    extra = {**record.extra, "deleting": deleter, "before_delete": before}
    return {"status": "Terminating", "extra": extra}


def _not_deleting(change: dict[str, Any]) -> dict[str, Any]:
    """The change that undoes :func:`_deleting`'s ``change``."""
    extra = {k: v for k, v in change["extra"].items() if k not in ("deleting", "before_delete")}
    return {"status": change["extra"]["before_delete"], "extra": extra}


def _abandoned_delete(record: Record) -> dict[str, Any]:
    """A Terminating record whose delete is no longer running (killed part way): the change
    that shows it as it was before, so that it is listed, counted and deleted again."""
    if record.status != "Terminating":
        return {}
    deleter = record.extra.get("deleting")
    if isinstance(deleter, dict) and processes.alive(deleter.get("pid"), deleter.get("mark")):
        return {}
    before = record.extra.get("before_delete")
    return _not_deleting(
        {
            "extra": {
                **record.extra,
                "before_delete": before if before in ACTIVE_STATUSES else "Running",
            }
        }
    )


def _last_line(path: Path) -> str | None:
    """The last line of a log (its end only is read), or ``None``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 512))
            tail = handle.read()
    except OSError:
        return None
    lines = [line.strip() for line in tail.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


#: Variables that configure canfar itself; replicas do not inherit them.
CANFAR_ONLY_VARIABLES = frozenset(
    {"CANFAR_TOKEN", "CANFAR_URL", "CANFAR_BACKEND", "CANFAR_CONTEXT", "CANFAR_DEBUG"}
)


def _not_on_path(command: str, path: str) -> str | None:
    """Why ``command`` cannot start when it is not on the replica's ``PATH``, else None."""
    import shutil

    entries = path.split(os.pathsep)
    relative = any(not os.path.isabs(entry) for entry in entries)
    if "/" in command or relative or shutil.which(command, path=path):
        return None
    from canfar_plugins._support.installer import installer

    how = (
        "canfar is installed with pipx, so a local job runs the commands on your own PATH, "
        "not canfar's"
        if installer().name == "pipx"
        else "a local job runs the commands on your PATH"
    )
    return f"'{command}' is not on PATH ({how}): install it, or add its folder to PATH"


def _log_line(log: str, line: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _exit_reason(record: Record, code: int) -> str:
    """The exit code in words, and for 127 the command that was not found."""
    missing = record.extra.get("not_found")
    if code == 127 and isinstance(missing, str):
        return f"exit code 127: {missing}"
    return describe_exit(code)


def _host_env() -> dict[str, str]:
    """This process's environment, with canfar's virtual environment on ``PATH``.

    Running ``.venv/bin/canfar`` without activating ``.venv`` gives replicas the environment
    they would have had with it activated, so ``python`` is the interpreter canfar runs in. An
    environment made by a tool installer (pipx, uv tool) is kept apart on purpose: it is not
    added, and the ``python`` on ``PATH`` (the user's own) is used, with a folder holding only
    ``canfar.helpers.distributed`` and what it imports last on ``PYTHONPATH``. canfar's own
    credentials and server choice (``CANFAR_TOKEN``, ``CANFAR_URL``, ...) are left out, as the
    platform leaves them out of its sessions: a job that needs a token gets it through
    ``--env``.
    """
    env = {key: value for key, value in os.environ.items() if key not in CANFAR_ONLY_VARIABLES}
    if sys.prefix == sys.base_prefix:
        return env
    if any(os.path.exists(os.path.join(sys.prefix, marker)) for marker in TOOL_ENV_MARKERS):
        from canfar_plugins.local.helpers_path import with_helpers

        return with_helpers(env)
    bindir = os.path.dirname(sys.executable)
    path = env.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        env["PATH"] = f"{bindir}{os.pathsep}{path}" if path else bindir
        env["VIRTUAL_ENV"] = sys.prefix
    return env
