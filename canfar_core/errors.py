"""The exceptions canfar raises. Each carries the exit code the CLI uses for it.

Every error the user can cause or meet is a :class:`CanfarError`: the CLI prints its message on one
line and exits with its ``exit_code``; the Python API lets it propagate. Nothing else escapes as a
traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CanfarError(Exception):
    """Base class of every error canfar reports to its user."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ValidationError(CanfarError, ValueError):
    """A value given by the user is not acceptable; nothing was sent or changed."""

    exit_code = EXIT_USAGE


class ConfigError(CanfarError):
    """The configuration or credentials file cannot be read or written."""


class PluginError(CanfarError):
    """A plugin failed to load, or two plugins registered the same name."""


class RegistryError(PluginError):
    """A name is unknown to a registry, or registered twice."""


class PolicyError(CanfarError):
    """A plugin refused a session request (raised from ``canfar_prepare_session``)."""


class AuthError(CanfarError):
    """Credentials are missing, expired or refused by the server."""


class PermissionDenied(AuthError):
    """The server knows who you are but refuses the request (HTTP 403)."""


class NotFound(CanfarError):
    """A session, context, image or other named thing does not exist."""


class Unsupported(CanfarError):
    """The backend in use cannot do what was asked (for example a desktop on ``local``)."""


class ServerError(CanfarError):
    """The server answered with an error that is not the caller's fault (HTTP 5xx, bad body)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class ConnectionFailed(ServerError):
    """The server could not be reached, or did not answer in time."""


class LaunchError(CanfarError):
    """Some or all replicas of a launch failed.

    ``ids`` lists the sessions that did launch (they keep running); ``failures`` maps each failed
    replica number (1-based) to the reason it failed.
    """

    def __init__(self, message: str, *, ids: list[str], failures: dict[int, str]) -> None:
        super().__init__(message)
        self.ids = ids
        self.failures = failures
