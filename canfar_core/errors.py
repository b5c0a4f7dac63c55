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


def hide_url_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it masked."""
    if "@" not in text:
        return text
    import re

    return re.sub(r"(\w+://[^/\s:@]*):[^/\s@]*@", r"\1:***@", text)


class CanfarError(Exception):
    """Base class of every error canfar reports to its user.

    ``code`` names its kind in the ``{code, message, hint}`` object ``-o json`` reports it as;
    codes are stable (a script may branch on them), messages and hints are for people.
    """

    exit_code = EXIT_ERROR
    code = "command.failed"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # A server URL saved as user:password@host never shows its password in a message.
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return hide_url_passwords(text)


class ValidationError(CanfarError, ValueError):
    """A value given by the user is not acceptable; nothing was sent or changed."""

    exit_code = EXIT_USAGE
    code = "command.validation_failed"


class ConfigError(CanfarError):
    """The configuration or credentials file cannot be read or written."""

    code = "config.invalid"


class PluginError(CanfarError):
    """A plugin failed to load, or two plugins registered the same name."""


class RegistryError(PluginError):
    """A name is unknown to a registry, or registered twice."""


class PolicyError(CanfarError):
    """A plugin refused a session request (raised from ``canfar_prepare_session``)."""

    code = "session.refused"


class AuthError(CanfarError):
    """Credentials are missing, expired or refused by the server."""

    code = "authentication.required"


class PermissionDenied(AuthError):
    """The server knows who you are but refuses the request (HTTP 403)."""

    code = "authentication.forbidden"


class NotFound(CanfarError):
    """A session, context, image or other named thing does not exist."""

    code = "not_found"


class Unsupported(CanfarError):
    """The backend in use cannot do what was asked (for example a desktop on ``local``)."""

    code = "command.unsupported"


class ServerError(CanfarError):
    """The server answered with an error that is not the caller's fault (HTTP 5xx, bad body)."""

    code = "server.error"

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class ConnectionFailed(ServerError):
    """The server could not be reached, or did not answer in time."""

    code = "transport.failure"


class LaunchError(CanfarError):
    """Some or all replicas of a launch failed, or their fate is not known.

    ``ids`` lists the sessions that did launch (they keep running); ``failures`` maps each failed
    replica number (1-based) to the reason it failed; ``uncertain`` maps each replica whose
    request was sent but got no usable answer (a cut-off answer, a timeout, an interruption) to
    what happened: it may exist, so launching it again could make a duplicate; ``not_sent``
    lists the replicas never sent (they certainly do not exist). ``names`` maps the replica
    numbers above to their session names, so a caller can look for them (``canfar ps``).
    """

    code = "session.launch_failed"

    def __init__(
        self,
        message: str,
        *,
        ids: list[str],
        failures: dict[int, str],
        uncertain: dict[int, str] | None = None,
        not_sent: list[int] | None = None,
        names: dict[int, str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.ids = ids
        self.failures = failures
        self.uncertain = dict(uncertain or {})
        self.not_sent = list(not_sent or [])
        self.names = dict(names or {})


class LaunchInterrupted(LaunchError, KeyboardInterrupt):
    """Ctrl-C (or another interruption) stopped a launch part way.

    It is a :class:`LaunchError` (``ids`` of the sessions that exist, ``uncertain`` replicas that
    may exist, ``not_sent`` replicas that do not) and a :class:`KeyboardInterrupt`, so code that
    stops on Ctrl-C still stops. Backends raise it from ``create`` when interrupted, with what
    they know; the CLI prints every id and exits 130.
    """

    exit_code = EXIT_INTERRUPTED


class SessionRequestError(CanfarError):
    """Some of the sessions a call was about failed, and the caller asked to hear it by raising
    (``errors="raise"``, or ``CANFAR_ERRORS=raise``).

    Every request of the call ran first. ``results`` holds what the call would have returned;
    ``errors`` maps each failed session id (or, for a launch, each 1-based replica number) to
    its :class:`CanfarError`.
    """

    def __init__(
        self,
        message: str,
        *,
        results: object,
        errors: dict[str, CanfarError] | dict[int, CanfarError],
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.results = results
        self.errors = errors


class LaunchRequestError(SessionRequestError, LaunchError):
    """Replicas of a launch failed under ``errors="raise"``: a :class:`SessionRequestError`
    (``results`` the ids launched, ``errors`` by replica number) and a :class:`LaunchError`
    (``ids``, ``failures``, ``uncertain``, ...), so either ``except`` clause catches it."""

    def __init__(self, launch: LaunchError) -> None:
        failures: dict[int, str] = {**launch.failures, **launch.uncertain}
        failures.update({replica: "never sent" for replica in launch.not_sent})
        CanfarError.__init__(self, launch.message, hint=launch.hint)
        self.results = list(launch.ids)
        self.errors = {replica: CanfarError(reason) for replica, reason in sorted(failures.items())}
        self.ids = list(launch.ids)
        self.failures = dict(launch.failures)
        self.uncertain = dict(launch.uncertain)
        self.not_sent = list(launch.not_sent)
        self.names = dict(launch.names)
