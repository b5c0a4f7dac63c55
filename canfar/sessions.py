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
    __doc__ = sessions.Session.__doc__
    _plain_config = staticmethod(plain_config)


class AsyncSession(async_sessions.AsyncSession):
    __doc__ = async_sessions.AsyncSession.__doc__
    sync_class = Session


__all__ = ["AsyncSession", "Session", "WaitTimeout"]
