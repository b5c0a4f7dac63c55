"""A small in-memory backend for the API and CLI tests, registered with the canfar_plugin fixture.

Each session walks through ``World.lifecycle`` one step each time it is observed (listed or
asked about), then stays in the last status, so a test controls exactly what ``wait`` sees.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from canfar_core import hookimpl
from canfar_core.backend import Backend
from canfar_core.contexts import Context
from canfar_core.errors import NotFound
from canfar_core.models import (
    Image,
    LaunchResult,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionSpec,
)

INTERACTIVE = {"notebook", "desktop", "carta", "firefly", "contributed"}


@dataclass
class Record:
    info: SessionInfo
    spec: SessionSpec
    replica: int
    steps: list[str]
    exit_code: int | None = None

    def observe(self) -> SessionInfo:
        if len(self.steps) > 1:
            self.steps.pop(0)
        self.info.status = self.steps[0]
        if self.info.status in ("Completed", "Failed"):
            self.info.exit_code = self.exit_code
        return self.info


@dataclass
class World:
    """Everything one test's memory backends share."""

    sessions: dict[str, Record] = field(default_factory=dict)
    specs: list[SessionSpec] = field(default_factory=list)
    lifecycle: list[str] = field(default_factory=lambda: ["Pending", "Running"])
    exit_code: int | None = None
    #: ``fail(spec, replica)`` returns a reason to make that replica fail, or None.
    fail: Callable[[SessionSpec, int], str | None] = lambda spec, replica: None
    logs: dict[str, str] = field(default_factory=dict)
    log_chunks: dict[str, list[str]] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    delete_failures: dict[str, str] = field(default_factory=dict)
    delete_calls: list[list[str]] = field(default_factory=list)
    #: Called on every ``info``: lets a test interrupt or break a poll.
    on_info: Callable[[str], None] | None = None
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self, name: str, kind: str = "headless", status: str = "Running", **extra: object
    ) -> str:
        """Put a session straight into the world (as if launched earlier)."""
        sid = f"m{next(self.counter):07d}"
        spec = SessionSpec(kind=kind, image="images.example.org/skaha/astroml:latest", name=name)
        info = SessionInfo(
            id=sid,
            name=name,
            kind=kind,
            image=spec.image,
            status=status,
            backend="memory",
            start_time="2026-01-01T00:00:00Z",
            **extra,  # type: ignore[arg-type]
        )
        self.sessions[sid] = Record(info, spec, 1, [status])
        return sid


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, context: Context, world: World) -> None:
        super().__init__(context)
        self.world = world

    def _record(self, session_id: str) -> Record:
        try:
            return self.world.sessions[session_id]
        except KeyError:
            raise NotFound(f"no session with id '{session_id}'") from None

    def create(self, spec: SessionSpec) -> LaunchResult:
        self.world.specs.append(spec)
        result = LaunchResult()
        for replica in spec.replica_numbers():
            reason = self.world.fail(spec, replica)
            if reason:
                result.failures[replica] = reason
                continue
            sid = f"m{next(self.world.counter):07d}"
            info = SessionInfo(
                id=sid,
                name=spec.replica_name(replica),
                kind=spec.kind,
                image=spec.image,
                status="Pending",
                backend="memory",
                start_time="2026-01-01T00:00:00Z",
                cores=spec.cores,
                ram=spec.ram,
                connect_url=f"https://sp.example.org/session/{sid}/"
                if spec.kind in INTERACTIVE
                else None,
            )
            steps = list(self.world.lifecycle)
            self.world.sessions[sid] = Record(info, spec, replica, steps, self.world.exit_code)
            result.ids.append(sid)
        return result

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        found = [record.observe() for record in self.world.sessions.values()]
        return [
            s
            for s in found
            if (kind is None or s.kind == kind) and (status is None or s.status == status)
        ]

    def info(self, session_id: str) -> SessionInfo:
        if self.world.on_info is not None:
            self.world.on_info(session_id)
        return self._record(session_id).observe()

    def logs(self, session_id: str) -> str:
        self._record(session_id)
        return self.world.logs.get(session_id, "")

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        self._record(session_id)
        for chunk in self.world.log_chunks.get(session_id, []):
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    def events(self, session_id: str) -> str:
        self._record(session_id)
        return self.world.events.get(session_id, "")

    def delete(self, session_ids: list[str]) -> dict[str, str | None]:
        self.world.delete_calls.append(list(session_ids))
        results: dict[str, str | None] = {}
        for sid in session_ids:
            if sid in self.world.delete_failures:
                results[sid] = self.world.delete_failures[sid]
            elif self.world.sessions.pop(sid, None) is None:
                results[sid] = f"no session with id '{sid}'"
            else:
                results[sid] = None
        return results

    def renew(self, session_ids: list[str]) -> dict[str, str | None]:
        results: dict[str, str | None] = {}
        for sid in session_ids:
            record = self.world.sessions.get(sid)
            if record is None:
                results[sid] = f"no session with id '{sid}'"
            else:
                record.info.expiry_time = "2026-01-05T00:00:00Z"
                results[sid] = None
        return results

    def stats(self) -> PlatformStats:
        return PlatformStats(
            cores_requested=3.5,
            cores_available=64.0,
            ram_requested_gb=12.0,
            ram_available_gb=256.0,
            sessions_running=sum(
                1 for r in self.world.sessions.values() if r.info.status == "Running"
            ),
        )

    def images(self, kind: str | None = None) -> list[Image]:
        offered = [
            Image("images.example.org/skaha/astroml:latest", ["headless", "notebook"]),
            Image("images.example.org/skaha/carta:4.1", ["carta"]),
            Image("images.example.org/skaha/terminal:1.1", ["headless"]),
        ]
        return [i for i in offered if kind is None or kind in i.types]

    def resources(self) -> ResourceContext:
        return ResourceContext(
            cores=[1, 2, 4, 8], ram=[1, 2, 4, 8, 16], gpus=[1], default_cores=1, default_ram=4
        )

    def open_url(self, session_id: str) -> str:
        url = self._record(session_id).info.connect_url
        if not url:
            raise NotFound(f"session {session_id} has no URL")
        return url


class MemoryPlugin:
    """Registers the ``memory`` backend bound to one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    @hookimpl
    def canfar_register_backends(self, register: Callable[..., None]) -> None:
        register("memory", lambda context: MemoryBackend(context, self.world))
