"""Machine mode: ``-o json|yaml`` (and ``--json``) on a command and, under ``-o``, errors as
one ``{code, message, hint}`` object on stderr with stdout left empty.

``--json`` prints the same document as ``-o json``; its errors stay ``Error:`` lines, as they
always were. Documents are written by :func:`canfar_core.output.dumps`, the one encoder.

The codes are stable (a script may branch on them); messages and hints are for people.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from canfar_core import output
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConfigError,
    ConnectionFailed,
    LaunchError,
    NotFound,
    PermissionDenied,
    PolicyError,
    ServerError,
    Unsupported,
    ValidationError,
)

F = TypeVar("F", bound=Callable[..., Any])

#: The code of each kind of error, most specific first.
CODES: tuple[tuple[type[BaseException], str], ...] = (
    (PermissionDenied, "authentication.forbidden"),
    (AuthError, "authentication.required"),
    (ConnectionFailed, "transport.failure"),
    (ServerError, "server.error"),
    (ValidationError, "command.validation_failed"),
    (click.UsageError, "command.validation_failed"),
    (ConfigError, "config.invalid"),
    (NotFound, "not_found"),
    (Unsupported, "command.unsupported"),
    (PolicyError, "session.refused"),
    (LaunchError, "session.launch_failed"),
    (KeyboardInterrupt, "command.cancelled"),
    (click.Abort, "command.cancelled"),
    (CanfarError, "command.failed"),
)

formats = output.formats

#: The machine format this run prints in, once known (``None``: for people).
_format: str | None = None


def current_format() -> str | None:
    return _format


def set_format(fmt: str | None) -> None:
    global _format
    _format = fmt.lower() if fmt else None


def format_in_argv(args: list[str]) -> str | None:
    """The ``-o``/``--output`` format the command line asks for, read before parsing so that a
    usage error is already reported in that format. Only a known format counts (``logs -o DIR``
    names a folder), and nothing after ``--`` (the user's command's own flags)."""
    own = args[: args.index("--")] if "--" in args else args
    for index, word in enumerate(own):
        value = None
        if word in ("-o", "--output") and index + 1 < len(own):
            value = own[index + 1]
        elif word.startswith("--output="):
            value = word.split("=", 1)[1]
        elif word.startswith("-o") and not word.startswith("--") and len(word) > 2:
            value = word[2:].lstrip("=")
        if value is not None and value.lower() in formats():
            return value.lower()
    return None


def emit(data: Any, fmt: str | None = None) -> None:
    """Print ``data`` on stdout in ``fmt`` (default: the run's format, else JSON)."""
    output.emit(data, (fmt or _format or "json").lower())


def code_of(exc: BaseException) -> str:
    explicit = getattr(exc, "code", None)
    if isinstance(explicit, str) and "." in explicit:
        return explicit
    for kind, code in CODES:
        if isinstance(exc, kind):
            return code
    return "internal.error"


def error_record(exc: BaseException, message: str | None = None) -> dict[str, Any]:
    """The ``{code, message, hint}`` object reported for ``exc``."""
    hint = getattr(exc, "hint", None)
    if message is None:
        if isinstance(exc, CanfarError):
            message = exc.message
        elif isinstance(exc, click.ClickException):
            message = exc.format_message()
        elif isinstance(exc, (KeyboardInterrupt, click.Abort)):
            message = "interrupted"
        else:
            message = f"unexpected {type(exc).__name__}: {exc}".strip().rstrip(":")
    if hint is None and isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = f"see: {exc.ctx.command_path} --help"
    record = {"code": code_of(exc), "message": message, "hint": hint}
    details = getattr(exc, "details", None)
    if details is not None:
        record["details"] = details
    return record


def report_error(exc: BaseException, message: str | None = None) -> None:
    """Write the error object on stderr, in the run's format."""
    record = error_record(exc, message)
    fmt = _format or "json"
    if fmt == "json":
        import json

        text = json.dumps(record, ensure_ascii=False) + "\n"  # one line
    else:
        text = output.dumps(record, fmt)
    sys.stderr.write(text)
    sys.stderr.flush()


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in formats():
        known = ", ".join(f"'{name}'" for name in formats())
        raise click.BadParameter(f"{value!r} is not one of {known}.", ctx, param)
    set_format(value)
    return value.lower()


def output_option(func: F) -> F:
    """``-o/--output json|yaml`` and ``--json`` (the same document as ``-o json``; errors stay
    ``Error:`` lines), passed to the command as ``output`` (``None``: for people)."""

    def json_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and ctx.params.get("output") is None:
            ctx.params["output"] = "json"

    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=json_flag,
        help="The same as -o json.",
    )(func)
    return click.option(
        "-o",
        "--output",
        metavar="[json|yaml]",
        is_eager=True,
        callback=_remember,
        help="Print machine output: json or yaml (or a format a plugin adds).",
    )(func)
