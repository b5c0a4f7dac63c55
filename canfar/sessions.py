"""Launch and manage sessions: ``from canfar.sessions import Session``.

The same code runs on this machine (the local backend, no login needed) and on the CANFAR
Science Platform after ``canfar auth login``::

    from canfar.sessions import Session

    session = Session()
    ids = session.create(
        name="galaxy-processing-batch",
        kind="headless",
        image="skaha/astroml:latest",
        cmd="python",
        args=["my_script.py"],
        replicas=100,
    )
    session.wait(ids, status="Completed")
    print(session.logs(ids[0]))
    session.destroy(ids)

:class:`AsyncSession` has the same methods as coroutines. Results are the typed records of
:mod:`canfar.models`; failures are the exceptions of :mod:`canfar.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from canfar_core import async_sessions, sessions
from canfar_core.sessions import WaitTimeout


def plain_config(config: object) -> Mapping[str, Any] | None:
    """The platform client's ``config=`` (a ``Configuration`` whose ``registry`` has a
    ``username`` and a ``secret``, plain or a pydantic ``SecretStr``; or a mapping of that
    shape) as the plain mapping the core takes: ``{"registry": {"username", "secret"}}``."""

    def field(holder: object, name: str) -> Any:
        value = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        reveal = getattr(value, "get_secret_value", None)
        return reveal() if callable(reveal) else value

    registry = None if config is None else field(config, "registry")
    if registry is None:
        return None
    return {
        "registry": {"username": field(registry, "username"), "secret": field(registry, "secret")}
    }


class Session(sessions.Session):
    """Launch and manage sessions on the active backend (or the one given): the local backend
    when nobody is logged in, the CANFAR platform after ``canfar auth login``.

    Args:
        context: a saved context's name, instead of the active one.
        backend: a backend's name (``local``, ``canfar``, or one a plugin adds).
        url: a Skaha service URL, used with ``token`` instead of any saved context.
        token: a bearer token for ``url`` (or replacing the context's own).
        certificate: an X.509 proxy certificate file, instead of a token.
        timeout, concurrency, errors: see the configuration page; they read back as given.
        config: the platform client's ``Configuration`` (``config.registry.username`` and
            ``.secret``) or ``{"registry": {"username": ..., "secret": ...}}``: a private
            image's registry login, sent with launches only.
    """

    _plain_config = staticmethod(plain_config)


class AsyncSession(async_sessions.AsyncSession):
    """:class:`Session`'s methods as coroutines (``follow_logs`` and ``stream_logs`` as async
    generators), derived from it method by method: the same names, signatures and behaviour,
    each call run in a worker thread so that many awaited together overlap. It takes
    :class:`Session`'s arguments, reads its settings back (``.concurrency``), and ``sync`` is
    the :class:`Session` it uses::

        async with AsyncSession() as session:
            ids = await session.create(image="skaha/astroml:latest", cmd="python", args=["a.py"])
            infos = await session.info(ids)
    """

    sync_class = Session


__all__ = ["AsyncSession", "Session", "WaitTimeout"]
