"""The session API: one code path for the Python API and every CLI command.

:class:`Session` resolves the context (where sessions run), builds the backend through the
registry, and runs the plugin hooks around every launch. :class:`AsyncSession` offers the same
methods as coroutines.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from canfar_core.backend import Backend
from canfar_core.contexts import Context, active_context, get_context
from canfar_core.errors import CanfarError, LaunchError, NotFound, ValidationError
from canfar_core.manager import get_manager
from canfar_core.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    STATUSES,
    Image,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionKind,
    SessionSpec,
)
from canfar_core.validation import check_session_id, check_spec

IdOrIds = str | Sequence[str]


def _ids(ids: IdOrIds) -> list[str]:
    listed = [ids] if isinstance(ids, str) else list(ids)
    if not listed:
        raise ValidationError("no session id given")
    return [check_session_id(session_id) for session_id in listed]


def _check_status(status: str | None) -> str | None:
    if status is None:
        return None
    for known in STATUSES:
        if status.lower() == known.lower():
            return known
    raise ValidationError(f"unknown status '{status}' (known: {', '.join(STATUSES)})")


def default_name(image: str) -> str:
    """A readable name for a session that was given none: the image's name and a short tag."""
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    base = "".join(ch if ch.isalnum() else "-" for ch in base.lower()).strip("-")[:40] or "session"
    return f"{base}-{secrets.token_hex(2)}"


def make_context(
    context: str | None = None,
    backend: str | None = None,
    url: str | None = None,
    token: str | None = None,
) -> Context:
    """The context a :class:`Session` with these arguments talks to."""
    if url:
        if not token:
            raise ValidationError("a url needs a token too")
        return Context(
            name="adhoc",
            backend=backend or "canfar",
            url=url,
            auth="token",
            source="argument",
            env_secrets={"token": token},
        )
    if context:
        chosen = get_context(context)
    else:
        chosen = active_context()
    if backend and backend != chosen.backend:
        chosen = Context(name=backend, backend=backend, source="argument")
    if token:
        chosen.env_secrets["token"] = token
    return chosen


class Session:
    """Launch and manage sessions on the active backend (or the one given).

    >>> from canfar.sessions import Session
    >>> session = Session()                      # local unless logged in to CANFAR
    >>> ids = session.create(image="skaha/astroml:latest", cmd="python", args=["job.py"])
    """

    def __init__(
        self,
        *,
        context: str | None = None,
        backend: str | None = None,
        url: str | None = None,
        token: str | None = None,
    ) -> None:
        self.context = make_context(context, backend, url, token)
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        """The backend object sessions run on, built on first use."""
        if self._backend is None:
            factory = get_manager().registry("backends").get(self.context.backend)
            self._backend = factory(self.context)
        return self._backend

    # -- launching -------------------------------------------------------------------------

    def kinds(self) -> dict[str, SessionKind]:
        """The session kinds registered by plugins, by name."""
        registry = get_manager().registry("session_kinds")
        return {name: registry.get(name) for name in registry}

    def build_spec(
        self,
        *,
        image: str | None = None,
        name: str | None = None,
        kind: str | None = None,
        cores: float | None = None,
        ram: float | None = None,
        gpus: int | None = None,
        cmd: str | None = None,
        args: str | Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        replicas: int = 1,
        **options: Any,
    ) -> SessionSpec:
        """The request :meth:`create` would send, with config defaults applied (no hooks yet)."""
        from canfar_core.config import config_file

        defaults = config_file().read().get("defaults") or {}
        kind = kind or defaults.get("kind") or "headless"
        if isinstance(args, str):
            args = shlex.split(args)
        spec = SessionSpec(
            kind=kind,
            image=image or defaults.get("image") or "",
            name=name or "",
            cmd=cmd,
            args=list(args or []),
            env=dict(env or {}),
            replicas=replicas,
            cores=cores if cores is not None else defaults.get("cores"),
            ram=ram if ram is not None else defaults.get("ram"),
            gpus=gpus if gpus is not None else defaults.get("gpus"),
            backend=self.context.backend,
            options=dict(options),
        )
        return spec

    def _validate(self, spec: SessionSpec) -> None:
        kinds = self.kinds()
        if spec.kind not in kinds:
            raise ValidationError(
                f"unknown session kind '{spec.kind}' (known: {', '.join(kinds)})"
            )
        kind = kinds[spec.kind]
        check_spec(spec, accepts_command=kind.accepts_command, max_replicas=kind.max_replicas)
        validate = getattr(self.backend, "validate", None)
        if validate is not None:
            validate(spec)

    def launch(self, spec: SessionSpec) -> list[str]:
        """Launch a prepared request: plugins see it, it is checked, sent, and plugins are told.

        Returns the new ids in replica order. Raises :class:`LaunchError` (with ``ids`` of the
        replicas that did launch) when any replica failed.
        """
        if not spec.image:
            raise ValidationError("an image is required (for example skaha/astroml:latest)")
        if not spec.name:
            spec.name = default_name(spec.image)
        hook = get_manager().hook
        spec.backend = self.context.backend
        hook.canfar_prepare_session(spec=spec)
        self._validate(spec)
        result = self.backend.create(spec)
        if result.ids:
            try:
                hook.canfar_session_launched(spec=spec, ids=list(result.ids))
            except Exception as exc:  # a launch is never undone by an observer
                sys.stderr.write(f"canfar: warning: canfar_session_launched failed: {exc}\n")
        if result.failures:
            count = len(result.failures)
            raise LaunchError(
                f"{count} of {spec.replicas} replicas failed to launch",
                ids=list(result.ids),
                failures=dict(result.failures),
            )
        return list(result.ids)

    def create(
        self,
        name: str | None = None,
        image: str | None = None,
        kind: str | None = None,
        cores: float | None = None,
        ram: float | None = None,
        gpus: int | None = None,
        cmd: str | None = None,
        args: str | Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        replicas: int = 1,
        **options: Any,
    ) -> list[str]:
        """Launch ``replicas`` sessions and return their ids, in replica order.

        Each replica gets ``REPLICA_ID`` (1..replicas) and ``REPLICA_COUNT`` in its environment.
        With several replicas, replica ``k`` is named ``NAME-k``. ``args`` is a list of words (a
        string is split as a shell would). Raises :class:`~canfar_core.errors.LaunchError` when
        any replica failed; its ``ids`` lists those that launched.
        """
        spec = self.build_spec(
            image=image,
            name=name,
            kind=kind,
            cores=cores,
            ram=ram,
            gpus=gpus,
            cmd=cmd,
            args=args,
            env=env,
            replicas=replicas,
            **options,
        )
        return self.launch(spec)

    # -- looking -------------------------------------------------------------------------

    def fetch(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """Your sessions, optionally only of one kind and one status."""
        return self.backend.list(kind=kind, status=_check_status(status))

    def info(self, session_id: str) -> SessionInfo:
        """One session by id; :class:`~canfar_core.errors.NotFound` if there is none."""
        return self.backend.info(check_session_id(session_id))

    def logs(self, session_id: str) -> str:
        """What the session has printed so far, exactly as printed."""
        return self.backend.logs(check_session_id(session_id))

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """The session's output as it grows, until the session ends."""
        return self.backend.follow_logs(check_session_id(session_id), poll=poll)

    def events(self, session_id: str) -> str:
        """The session's scheduling events, as text."""
        return self.backend.events(check_session_id(session_id))

    def stats(self) -> PlatformStats:
        """Cores and memory in use and available."""
        return self.backend.stats()

    def images(self, kind: str | None = None) -> list[Image]:
        """The images on offer, optionally only those for one session kind."""
        return self.backend.images(kind=kind)

    def resources(self) -> ResourceContext:
        """What one session may request: cores, memory and GPUs on offer."""
        return self.backend.resources()

    def open_url(self, session_id: str) -> str:
        """The URL of an interactive session."""
        return self.backend.open_url(check_session_id(session_id))

    # -- ending ------------------------------------------------------------------------------

    def destroy(self, ids: IdOrIds) -> dict[str, str | None]:
        """Delete sessions. The result maps each id to ``None`` (deleted) or why it was not."""
        return self.backend.delete(_ids(ids))

    def renew(self, ids: IdOrIds) -> dict[str, str | None]:
        """Extend interactive sessions' lifetime; shaped like :meth:`destroy`'s result."""
        return self.backend.renew(_ids(ids))

    def matching(
        self, prefix: str | None = None, kind: str | None = None, status: str | None = None
    ) -> list[SessionInfo]:
        """Sessions whose name starts with ``prefix``, of ``kind``, in ``status`` (each optional)."""
        sessions = self.fetch(kind=kind, status=status)
        return [s for s in sessions if prefix is None or s.name.startswith(prefix.lower())
                or s.name.startswith(prefix)]

    def destroy_with(
        self,
        prefix: str | None = None,
        kind: str | None = "headless",
        status: str | None = "Completed",
    ) -> dict[str, str | None]:
        """Delete every session matching :meth:`matching`; by default finished headless ones."""
        found = self.matching(prefix=prefix, kind=kind, status=status)
        if not found:
            return {}
        return self.destroy([s.id for s in found])

    def wait(
        self,
        ids: IdOrIds,
        status: str | Sequence[str] = ("Running", *FINAL_STATUSES),
        timeout: float | None = None,
        poll: float = 2.0,
        progress: Callable[[dict[str, SessionInfo]], None] | None = None,
    ) -> dict[str, SessionInfo]:
        """Block until every session has reached one of ``status``, or ``timeout`` seconds pass.

        A session that ends (``Completed``/``Failed``) while waiting for ``Running`` counts as
        arrived: it will never run again. Raises :class:`TimeoutError` on timeout, with the
        sessions still waiting named in its message.
        """
        wanted = {_check_status(s) for s in ([status] if isinstance(status, str) else status)}
        targets = _ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current: dict[str, SessionInfo] = {}
            for session_id in targets:
                try:
                    current[session_id] = self.backend.info(session_id)
                except NotFound:
                    raise NotFound(f"session {session_id} no longer exists") from None
            if progress is not None:
                progress(current)
            pending = [
                sid
                for sid, info in current.items()
                if info.status not in wanted
                and not ("Running" in wanted and info.status in FINAL_STATUSES)
            ]
            if not pending:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{len(pending)} session(s) still not {'/'.join(sorted(map(str, wanted)))}: "
                    + ", ".join(pending)
                )
            time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))


class AsyncSession:
    """:class:`Session`'s methods as coroutines, for notebooks that watch many sessions at once.

    Each call runs the blocking call in a worker thread, so many can be awaited together::

        async with AsyncSession() as session:
            ids = await session.create(image="skaha/astroml:latest", cmd="python", args=["a.py"])
            infos = await asyncio.gather(*(session.info(i) for i in ids))
    """

    def __init__(self, **kwargs: Any) -> None:
        self.sync = Session(**kwargs)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.sync, method), *args, **kwargs)

    async def create(self, *args: Any, **kwargs: Any) -> list[str]:
        return await self._run("create", *args, **kwargs)  # type: ignore[no-any-return]

    async def fetch(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        return await self._run("fetch", kind=kind, status=status)  # type: ignore[no-any-return]

    async def info(self, session_id: str) -> SessionInfo:
        return await self._run("info", session_id)  # type: ignore[no-any-return]

    async def logs(self, session_id: str) -> str:
        return await self._run("logs", session_id)  # type: ignore[no-any-return]

    async def events(self, session_id: str) -> str:
        return await self._run("events", session_id)  # type: ignore[no-any-return]

    async def destroy(self, ids: IdOrIds) -> dict[str, str | None]:
        return await self._run("destroy", ids)  # type: ignore[no-any-return]

    async def destroy_with(self, *args: Any, **kwargs: Any) -> dict[str, str | None]:
        return await self._run("destroy_with", *args, **kwargs)  # type: ignore[no-any-return]

    async def renew(self, ids: IdOrIds) -> dict[str, str | None]:
        return await self._run("renew", ids)  # type: ignore[no-any-return]

    async def stats(self) -> PlatformStats:
        return await self._run("stats")  # type: ignore[no-any-return]

    async def images(self, kind: str | None = None) -> list[Image]:
        return await self._run("images", kind=kind)  # type: ignore[no-any-return]

    async def resources(self) -> ResourceContext:
        return await self._run("resources")  # type: ignore[no-any-return]

    async def wait(self, *args: Any, **kwargs: Any) -> dict[str, SessionInfo]:
        return await self._run("wait", *args, **kwargs)  # type: ignore[no-any-return]


__all__ = [
    "ACTIVE_STATUSES",
    "AsyncSession",
    "CanfarError",
    "Session",
]
