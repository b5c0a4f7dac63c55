"""The session API as coroutines: ``AsyncSession``, derived from
:class:`~canfar_core.sessions.Session` by :func:`asynchronous`, so the two cannot drift.

Every public method of ``Session`` is here with the same name, signature and behaviour: a
coroutine running the same call in a worker thread (a generator, such as ``follow_logs``,
becomes an async generator). asyncio is imported only when a coroutine runs: it costs about
20 ms, which ``import canfar.sessions`` must not add to scripts that never await.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

from canfar_core.sessions import Session


async def _in_thread(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)


def _coroutine(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` of the wrapped Session as a coroutine (or an async generator)."""
    if inspect.isgeneratorfunction(method):

        async def stream(self: Any, /, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            items = getattr(self.sync, name)(*args, **kwargs)
            done = object()
            while (item := await _in_thread(next, items, done)) is not done:
                yield item

        return functools.wraps(method)(stream)

    async def call(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await _in_thread(getattr(self.sync, name), *args, **kwargs)

    return functools.wraps(method)(call)


def asynchronous(sync_class: type[Session]) -> type:
    """An async class with every public method of ``sync_class`` as a coroutine, built on an
    instance of it (``.sync``); its settings (``context``, ``timeout``, ``concurrency``,
    ``errors``, ...) read through to that instance. A subclass may set ``sync_class`` to a
    subclass of it (one that only adds to ``__init__``)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.sync = type(self).sync_class(*args, **kwargs)

    def __getattr__(self: Any, name: str) -> Any:  # the settings, read as given
        value = getattr(self.__dict__.get("sync"), name)
        if name.startswith("_") or callable(value):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return value

    async def __aenter__(self: Any) -> Any:
        return self

    async def __aexit__(self: Any, *exc: object) -> None:
        await self.close()

    namespace: dict[str, Any] = {
        "__doc__": f"{sync_class.__name__}'s methods as coroutines, each running the same "
        "call in a worker thread, so many can be awaited together::\n\n"
        "    async with AsyncSession() as session:\n"
        "        ids = await session.create(image='skaha/astroml:latest', cmd='python')\n"
        "        infos = await session.info(ids)\n\n"
        f"It takes {sync_class.__name__}'s arguments; ``sync`` is the "
        f"{sync_class.__name__} it uses.",
        "__module__": __name__,
        "sync_class": sync_class,
        "__init__": functools.wraps(sync_class.__init__)(__init__),
        "__getattr__": __getattr__,
        "__repr__": lambda self: f"Async{self.sync!r}",
        "__aenter__": __aenter__,
        "__aexit__": __aexit__,
    }
    for name, member in inspect.getmembers(sync_class, inspect.isfunction):
        if not name.startswith("_"):
            namespace[name] = _coroutine(name, member)
    return type(f"Async{sync_class.__name__}", (), namespace)


__all__ = ["asynchronous"]
