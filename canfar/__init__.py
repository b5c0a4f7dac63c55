"""canfar: run code on the CANFAR Science Platform, or on this machine.

The documented imports::

    from canfar.sessions import Session, AsyncSession
    from canfar.errors import CanfarError, LaunchError, NotFound
    from canfar.models import SessionInfo
    import canfar.images, canfar.context
    from canfar.helpers import distributed
    from canfar.context import Context          # the resources one session may request
    from canfar.images import Images
    from canfar.overview import Overview
    from canfar import configure_logging, get_logger  # configure_logging("info"): see canfar's logs
    from canfar import login, alogin                  # canfar.login("srcnet"), as the command

Nothing but the version is imported with the package: ``configure_logging`` and ``get_logger``
load on first use, so ``canfar.helpers.distributed`` stays light in batch replicas.
"""

from __future__ import annotations

from canfar_core._version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (batch replicas import this)
if TYPE_CHECKING:
    from typing import Any

    from canfar import authentication, server
    from canfar._logging import configure_logging, get_logger
    from canfar.authentication import alogin, login

__all__ = [
    "__version__",
    "alogin",
    "authentication",
    "configure_logging",
    "get_logger",
    "login",
    "server",
]


def __getattr__(name: str) -> Any:
    """``configure_logging``, ``get_logger``, ``login``, ``alogin``, ``server`` and
    ``authentication``, imported on first use."""
    if name in ("configure_logging", "get_logger"):
        from canfar import _logging

        return getattr(_logging, name)
    if name in ("server", "authentication"):
        import importlib

        return importlib.import_module(f"canfar.{name}")
    if name in ("login", "alogin"):
        from canfar import authentication

        return getattr(authentication, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
