"""The typed results of the Python API (plain dataclasses).

``Session.fetch`` and ``Session.info`` return :class:`SessionInfo`, ``canfar.images.fetch``
returns :class:`Image`, ``canfar.context.resources`` returns :class:`ResourceContext`,
``Session.stats`` returns :class:`PlatformStats`. :func:`to_dict` gives the JSON form that the
command line's ``--json`` prints.
"""

from __future__ import annotations

from canfar_core.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    STATUSES,
    AuthStatus,
    CreateOption,
    Image,
    LaunchResult,
    PlatformStats,
    ResourceContext,
    Server,
    SessionInfo,
    SessionKind,
    SessionSpec,
    to_dict,
)

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "STATUSES",
    "AuthStatus",
    "CreateOption",
    "Image",
    "LaunchResult",
    "PlatformStats",
    "ResourceContext",
    "Server",
    "SessionInfo",
    "SessionKind",
    "SessionSpec",
    "to_dict",
]
