"""The exceptions canfar raises: catch :class:`CanfarError` for all of them.

Every failure the Python API reports is one of these; a network failure is
:class:`ConnectionFailed`, never an exception of an HTTP library::

    from canfar.errors import LaunchError, NotFound

    try:
        ids = session.create(image="skaha/astroml:latest", cmd="python", args=["a.py"], replicas=8)
    except LaunchError as err:
        ids = err.ids                      # the replicas that did launch keep running
        for replica, reason in err.failures.items():
            print(f"replica {replica} failed: {reason}")
"""

from __future__ import annotations

from canfar.sessions import WaitTimeout
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConfigError,
    ConnectionFailed,
    LaunchError,
    LaunchInterrupted,
    LaunchRequestError,
    NotFound,
    PermissionDenied,
    PluginError,
    PolicyError,
    RegistryError,
    ServerError,
    SessionRequestError,
    Unsupported,
    ValidationError,
)

__all__ = [
    "AuthError",
    "CanfarError",
    "ConfigError",
    "ConnectionFailed",
    "LaunchError",
    "LaunchInterrupted",
    "LaunchRequestError",
    "NotFound",
    "PermissionDenied",
    "PluginError",
    "PolicyError",
    "RegistryError",
    "ServerError",
    "SessionRequestError",
    "Unsupported",
    "ValidationError",
    "WaitTimeout",
]
