"""What a backend is: the object that runs sessions somewhere.

A backend plugin registers a *factory* through ``canfar_register_backends``::

    @hookimpl
    def canfar_register_backends(register):
        register("mycloud", MyCloudBackend)   # called as MyCloudBackend(context)

The factory receives the active :class:`~canfar_core.contexts.Context` and returns an object with
the methods of :class:`Backend`. Subclassing :class:`Backend` is optional, but gives a clear
:class:`~canfar_core.errors.Unsupported` error for anything the backend does not implement.
"""

from __future__ import annotations

import builtins
import contextlib
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canfar_core.errors import CanfarError, ConnectionFailed, Unsupported
from canfar_core.models import (
    Image,
    LaunchResult,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionSpec,
)

if TYPE_CHECKING:
    from canfar_core.contexts import Context


#: Requests in flight at once for a call about many sessions, when nobody chose.
DEFAULT_CONCURRENCY = 16


class Backend:
    """Base class of backends. Every method may raise a :class:`~canfar_core.errors.CanfarError`.

    The members with a body here are optional: their default is what a backend without them
    gets. A backend that does not subclass this class gets the same defaults (:func:`adapted`).
    """

    #: The name the backend is registered under.
    name = "backend"
    #: The backend's own ``create`` keywords (``Session.create(runtime=...)``); ``None``: any.
    option_names: tuple[str, ...] | None = None

    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def concurrency(self) -> int:
        """Requests in flight at once for a call about many sessions: the session's choice."""
        chosen = self.context.options.get("concurrency")
        return chosen if isinstance(chosen, int) else DEFAULT_CONCURRENCY

    def validate(self, spec: SessionSpec) -> None:
        """Refuse a request this backend cannot run (a :class:`ValidationError`), before any
        is sent; by default every request passes."""

    def create_requests(self, spec: SessionSpec) -> builtins.list[dict[str, Any]]:
        """What :meth:`create` would send for ``spec``, one entry per replica (``create
        --dry-run``); by default each replica's fields."""
        return [
            {
                "backend": spec.backend,
                "replica": k,
                "name": spec.replica_name(k),
                "kind": spec.kind,
                "image": spec.image,
                "cores": spec.cores,
                "ram": spec.ram,
                "gpus": spec.gpus,
                "cmd": spec.cmd,
                "args": builtins.list(spec.args),
                "env": spec.replica_env(k),
            }
            for k in spec.replica_numbers()
        ]

    def availability(self) -> bool:
        """Whether the service says it is up; by default it is."""
        return True

    def whoami(self) -> str | None:
        """The user the credentials belong to, when the backend can tell."""
        return None

    def close(self) -> None:
        """Release what the backend holds open (connections, database handles)."""

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(f"{what} is not available on the {self.name} backend")

    def create(self, spec: SessionSpec) -> LaunchResult:
        """Launch ``spec.replicas`` sessions; one failing replica must not stop the others."""
        raise self._unsupported("create")

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """The caller's sessions, optionally only of one kind and one status."""
        raise self._unsupported("listing sessions")

    def list_matching(
        self, kind: str | None = None, statuses: Collection[str] | None = None
    ) -> builtins.list[SessionInfo]:
        """The caller's sessions of ``kind`` in one of ``statuses`` (each filter optional).

        By default one :meth:`list` (asked for the status itself when there is one), filtered
        here. A backend that can filter where its sessions are kept overrides it, so that
        sessions nobody asked for cost nothing (``canfar ps`` asks for the active ones only).
        """
        if statuses is not None and len(statuses) == 1:
            return self.list(kind=kind, status=next(iter(statuses)))
        found = self.list(kind=kind)
        return found if statuses is None else [s for s in found if s.status in statuses]

    def info(self, session_id: str) -> SessionInfo:
        """One session; :class:`~canfar_core.errors.NotFound` when there is none with that id."""
        raise self._unsupported("info")

    def logs(self, session_id: str) -> str:
        """Everything the session has printed so far, unaltered: bytes that are not UTF-8 are
        kept as surrogate escapes, so ``text.encode("utf-8", "surrogateescape")`` gives back
        exactly the bytes written."""
        raise self._unsupported("logs")

    def iter_logs(self, session_id: str) -> Iterator[bytes]:
        """The session's output as bytes, in pieces (a large log is never held whole); by
        default :meth:`logs` at once."""
        yield self.logs(session_id).encode("utf-8", "surrogateescape")

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """Yield the session's output as it grows, until the session ends (text as
        :meth:`logs` gives it)."""
        raise self._unsupported("following logs")

    def events(self, session_id: str) -> str:
        """The session's scheduling events as text."""
        raise self._unsupported("events")

    def delete(self, session_ids: builtins.list[str]) -> dict[str, str | None]:
        """Delete sessions; map each id to ``None`` (deleted) or the reason it failed."""
        raise self._unsupported("delete")

    def renew(self, session_ids: builtins.list[str]) -> dict[str, str | None]:
        """Extend the sessions' lifetime; the result is shaped like :meth:`delete`'s."""
        raise self._unsupported("renew")

    def stats(self) -> PlatformStats:
        """Cores and memory in use and available."""
        raise self._unsupported("stats")

    def images(self, kind: str | None = None) -> builtins.list[Image]:
        """The images on offer, optionally only those built for ``kind``."""
        raise self._unsupported("listing images")

    def resources(self) -> ResourceContext:
        """What one session may request (cores, RAM, GPUs)."""
        raise self._unsupported("resource context")

    def open_url(self, session_id: str) -> str:
        """The URL that opens an interactive session in a browser."""
        raise self._unsupported("open")


@contextlib.contextmanager
def translated(backend: str) -> Iterator[None]:
    """Turn a library's network exception that escaped a backend into ConnectionFailed."""
    try:
        yield
    except CanfarError:
        raise
    except Exception as exc:
        library = (type(exc).__module__ or "").split(".", 1)[0]
        network = library in ("requests", "urllib3", "httpx", "http")
        if not network and not isinstance(exc, (ConnectionError, TimeoutError)):
            raise
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConnectionFailed(f"the {backend} backend could not be reached: {detail}") from exc


def adapted(backend: object, context: Context) -> Backend:
    """``backend`` as a :class:`Backend`: itself when it subclasses it; else a Backend whose
    members are the object's own where it has them, and the defaults elsewhere."""
    if isinstance(backend, Backend):
        return backend
    import types

    members: dict[str, Any] = {}
    for member in dir(backend):
        if not member.startswith("_") and member != "context":
            value = getattr(backend, member)
            plain = isinstance(value, types.FunctionType)  # not bound: keep it unbound
            members[member] = staticmethod(value) if plain else value
    adapter = type(f"Adapted{type(backend).__name__}", (Backend,), members)
    return adapter(getattr(backend, "context", context))


def follow_file(path: Path, ended: Callable[[], bool | None], pause: float) -> Iterator[str]:
    """Yield what a session's log file gains, until the session has ended and all of it was
    yielded: the body of ``follow_logs`` for a backend whose logs are files it can read.

    ``ended()`` is asked before every read: ``True`` once the session will write no more,
    ``False`` while it may, ``None`` when the session is gone (deleted while followed), which
    stops at once. A missing file is an empty log. Text is decoded as UTF-8 as it comes (a
    character split between two reads is kept whole; bytes that are not UTF-8 are kept as
    surrogate escapes, as :meth:`Backend.logs` says), and ``pause`` seconds pass between reads
    that found nothing new.
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    offset = 0
    while (finished := ended()) is not None:
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        offset += len(chunk)
        text = decoder.decode(chunk, final=finished and not chunk)
        if text:
            yield text
        if finished and not chunk:
            return
        if not chunk:
            time.sleep(pause)
