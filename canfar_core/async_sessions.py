"""The session API as coroutines: :class:`AsyncSession`, for notebooks that watch many sessions
at once.

Every call runs :class:`~canfar_core.sessions.Session`'s blocking call in a worker thread. asyncio
is imported only when a coroutine runs: it costs about 20 ms, which ``import canfar.sessions``
(it re-exports this class) must not add to scripts that never await.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from canfar_core.contexts import Context
from canfar_core.models import (
    FINAL_STATUSES,
    Image,
    PlatformStats,
    ResourceContext,
    SessionInfo,
)
from canfar_core.sessions import (
    ErrorMode,
    IdOrIds,
    Progress,
    Session,
    StatusOrStatuses,
    _check_seconds,
    _pause,
    _pending,
    _timed_out,
    _wanted,
    check_ids,
)

T = TypeVar("T")


def _to_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Awaitable[T]:
    """``asyncio.to_thread``; asyncio is imported only by code that uses the async API."""
    import asyncio

    return asyncio.to_thread(function, *args, **kwargs)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


class AsyncSession:
    """:class:`Session`'s methods as coroutines, for notebooks that watch many sessions at once.

    Each call runs the blocking call in a worker thread, so many can be awaited together::

        async with AsyncSession() as session:
            ids = await session.create(image="skaha/astroml:latest", cmd="python", args=["a.py"])
            infos = await session.info(ids)

    It takes the same arguments as :class:`Session`; ``sync`` is the :class:`Session` it uses.
    """

    def __init__(
        self,
        *,
        context: str | None = None,
        backend: str | None = None,
        url: str | None = None,
        token: str | None = None,
        certificate: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        errors: ErrorMode | None = None,
        config: object = None,
    ) -> None:
        self.sync = Session(
            context=context,
            backend=backend,
            url=url,
            token=token,
            certificate=certificate,
            timeout=timeout,
            concurrency=concurrency,
            errors=errors,
            config=config,
        )

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"

    @property
    def context(self) -> Context:
        return self.sync.context

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await _to_thread(self.sync.close)

    async def create(
        self,
        name: str | None = None,
        image: str | None = None,
        cores: float | None = None,
        ram: float | None = None,
        kind: str | None = None,
        gpu: int | None = None,
        cmd: str | None = None,
        args: str | Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        replicas: int = 1,
        *,
        gpus: int | None = None,
        only_replicas: Iterable[int] | None = None,
        errors: ErrorMode | None = None,
        **options: Any,
    ) -> list[str]:
        """See :meth:`Session.create`."""
        return await _to_thread(
            self.sync.create,
            name,
            image,
            cores,
            ram,
            kind,
            gpu,
            cmd,
            args,
            env,
            replicas,
            gpus=gpus,
            only_replicas=only_replicas,
            errors=errors,
            **options,
        )

    async def fetch(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """See :meth:`Session.fetch`."""
        return await _to_thread(self.sync.fetch, kind=kind, status=status)

    async def find(self, session_id: str) -> SessionInfo:
        """See :meth:`Session.find`."""
        return await _to_thread(self.sync.find, session_id)

    async def info(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> list[SessionInfo]:
        """See :meth:`Session.info`."""
        return await _to_thread(self.sync.info, ids, errors=errors)

    async def log_text(self, session_id: str) -> str:
        """See :meth:`Session.log_text`."""
        return await _to_thread(self.sync.log_text, session_id)

    async def logs(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> dict[str, str] | None:
        """See :meth:`Session.logs`."""
        return await _to_thread(self.sync.logs, ids, verbose, errors=errors)

    async def follow_logs(self, session_id: str, poll: float = 1.0) -> AsyncIterator[str]:
        """See :meth:`Session.follow_logs`; ``async for chunk in session.follow_logs(id)``."""
        chunks = self.sync.follow_logs(session_id, poll=poll)
        while True:
            chunk = await _to_thread(next, chunks, None)
            if chunk is None:
                return
            yield chunk

    async def event_text(self, session_id: str) -> str:
        """See :meth:`Session.event_text`."""
        return await _to_thread(self.sync.event_text, session_id)

    async def events(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> list[dict[str, str]] | None:
        """See :meth:`Session.events`."""
        return await _to_thread(self.sync.events, ids, verbose, errors=errors)

    async def delete(self, ids: IdOrIds) -> dict[str, str | None]:
        """See :meth:`Session.delete`."""
        return await _to_thread(self.sync.delete, ids)

    async def destroy(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """See :meth:`Session.destroy`."""
        return await _to_thread(self.sync.destroy, ids, errors=errors)

    async def destroy_with(
        self,
        prefix: str | None = None,
        *,
        kind: str | None = "headless",
        status: StatusOrStatuses | None = "Completed",
        errors: ErrorMode | None = None,
    ) -> dict[str, bool]:
        """See :meth:`Session.destroy_with`."""
        return await _to_thread(
            self.sync.destroy_with, prefix, kind=kind, status=status, errors=errors
        )

    async def matching(
        self,
        prefix: str | None = None,
        kind: str | None = None,
        status: StatusOrStatuses | None = None,
    ) -> list[SessionInfo]:
        """See :meth:`Session.matching`."""
        return await _to_thread(self.sync.matching, prefix, kind, status)

    async def extend(self, ids: IdOrIds) -> dict[str, str | None]:
        """See :meth:`Session.extend`."""
        return await _to_thread(self.sync.extend, ids)

    async def renew(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """See :meth:`Session.renew`."""
        return await _to_thread(self.sync.renew, ids, errors=errors)

    async def available(self) -> bool:
        """See :meth:`Session.available`."""
        return await _to_thread(self.sync.available)

    async def connect(self, ids: IdOrIds) -> None:
        """See :meth:`Session.connect`."""
        await _to_thread(self.sync.connect, ids)

    async def stats(self) -> PlatformStats:
        """See :meth:`Session.stats`."""
        return await _to_thread(self.sync.stats)

    async def images(self, kind: str | None = None) -> list[Image]:
        """See :meth:`Session.images`."""
        return await _to_thread(self.sync.images, kind=kind)

    async def resources(self) -> ResourceContext:
        """See :meth:`Session.resources`."""
        return await _to_thread(self.sync.resources)

    async def open_url(self, session_id: str) -> str:
        """See :meth:`Session.open_url`."""
        return await _to_thread(self.sync.open_url, session_id)

    async def wait(
        self,
        ids: IdOrIds,
        status: StatusOrStatuses = ("Running", *FINAL_STATUSES),
        timeout: float | None = None,
        poll: float = 2.0,
        progress: Progress | None = None,
    ) -> dict[str, SessionInfo]:
        """See :meth:`Session.wait`; other coroutines run while it waits."""
        _check_seconds(timeout=timeout, poll=poll)
        wanted = _wanted(status)
        targets = check_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = await _to_thread(self.sync._poll, targets)
            if progress is not None:
                progress(current)
            pending = _pending(current, wanted)
            if not pending:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise _timed_out(pending, wanted, timeout, current)
            await _sleep(_pause(poll, deadline))


__all__ = ["AsyncSession"]
