"""The base of the platform client's small reader classes (``Images``, ``Context``,
``Overview``): a :class:`~canfar.sessions.Session` with the same arguments, closed with
the object."""

from __future__ import annotations

from typing import Any

from canfar.sessions import Session


class SessionClient:
    """Takes :class:`Session`'s arguments (``token=``, ``url=``, ``timeout=``, ...); usable
    as ``with Images() as images:``."""

    def __init__(self, **settings: Any) -> None:
        self.session = Session(**settings)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections."""
        self.session.close()
