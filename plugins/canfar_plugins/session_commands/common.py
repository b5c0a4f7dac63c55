"""What the session commands share: the Session a command uses, the common options, per-id
results and raw output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from canfar_core.errors import EXIT_ERROR, EXIT_INTERRUPTED
from canfar_plugins.session_commands.completion import complete_backends, complete_session_ids

if TYPE_CHECKING:
    from canfar.sessions import Session
    from canfar_core.models import SessionInfo

F = TypeVar("F", bound=Callable[..., Any])

#: Colours of statuses, where colour is allowed (a terminal, and no NO_COLOR).
STATUS_COLOURS = {"Running": "green", "Pending": "yellow", "Failed": "red", "Terminating": "yellow"}
#: Columns of ``canfar ps`` (and of the sessions ``canfar prune`` lists).
PS_HEADERS = ("ID", "NAME", "KIND", "STATUS", "IMAGE", "STARTED")


class Seconds(click.ParamType):
    """A number of seconds: finite, and at least ``minimum`` (``nan``, ``inf`` and negative
    numbers are usage errors, not a crash or a wait that never ends)."""

    name = "seconds"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        import math

        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds < self.minimum:
            self.fail(f"{value!r} is not a number of seconds >= {self.minimum:g}", param, ctx)
        return seconds


def session_for(ctx: click.Context, backend: str | None = None) -> Session:
    """The Session a command uses: the group's ``--context``, the command's ``--backend``."""
    from canfar.sessions import Session

    obj = ctx.find_object(dict) or {}
    return Session(context=obj.get("context"), backend=backend)


def backend_option(func: F) -> F:
    return click.option(
        "--backend",
        metavar="NAME",
        shell_complete=complete_backends,
        help="Use this backend (local, canfar, ...) instead of the active context's.",
    )(func)


def field_label(key: str) -> str:
    """A backend's own field name as a table label: ``end_time`` and ``endTime`` as
    ``end time``, ``runAsUID`` as ``run as UID``, ``requestedGPUCores`` as
    ``requested GPU cores``."""
    import re

    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", key.replace("_", " "))
    words = spaced.split()
    units = {"gb": "GB", "mb": "MB", "gib": "GiB", "cpu": "CPU", "gpu": "GPU", "id": "id"}
    return " ".join(
        units.get(word.lower(), word if word.isupper() else word.lower()) for word in words
    )


def ids_argument(func: F) -> F:
    """One or more session ids, completed from the active backend's sessions."""
    return click.argument(
        "ids", nargs=-1, required=True, metavar="ID...", shell_complete=complete_session_ids
    )(func)


def ids_or_none_argument(func: F) -> F:
    """Session ids, possibly none: for commands where ``$(canfar ps -q)`` may give nothing,
    which is then a note and exit 0 (see :func:`nothing_given`), not a usage error."""
    return click.argument("ids", nargs=-1, metavar="[ID...]", shell_complete=complete_session_ids)(
        func
    )


def nothing_given(what: str, as_json: bool) -> None:
    """No session id was given (``canfar wait $(canfar ps -q)`` with nothing running): say so
    on stderr, print an empty JSON list with ``--json``; the command then exits 0."""
    from canfar_core.output import emit_json, info

    if as_json:
        emit_json([])
    info(f"Nothing to {what}: no session ids were given.")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print as JSON (stable keys).")(
        func
    )


def quiet_option(func: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Print only ids, one per line.")(func)


def one_format(as_json: bool, quiet: bool) -> None:
    """Refuse ``--json`` with ``--quiet``: they ask for two different outputs."""
    if as_json and quiet:
        raise click.UsageError("--json and --quiet cannot be used together")


def interrupted(ctx: click.Context, message: str) -> None:
    """Say what is still going on after Ctrl-C, and exit 130."""
    click.echo(message, err=True)
    ctx.exit(EXIT_INTERRUPTED)


def write_raw(text: str) -> None:
    """Write text to stdout exactly as it is: no markup, no wrapping, no tab expansion."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
        out.flush()
        return
    out.flush()
    buffer.write(text.encode("utf-8", "surrogateescape"))
    buffer.flush()


def write_bytes(pieces: Iterable[bytes]) -> None:
    """Write bytes to stdout as they come, exactly as they are (never all held at once)."""
    out = sys.stdout
    out.flush()
    buffer = getattr(out, "buffer", None)
    for piece in pieces:
        if buffer is None:
            out.write(piece.decode("utf-8", "surrogateescape"))
        else:
            buffer.write(piece)
    if buffer is not None:
        buffer.flush()
    out.flush()


def ps_rows(sessions: Iterable[SessionInfo]) -> list[tuple[Any, ...]]:
    """The rows of a ``canfar ps`` table, in :data:`PS_HEADERS` order."""
    return [
        (s.id, s.name, s.kind, f"{s.status} (kept)" if s.kept else s.status, s.image,
         s.start_time or "-")
        for s in sessions
    ]  # fmt: skip


def dicts(records: Iterable[Any]) -> list[dict[str, Any]]:
    """Records as the dictionaries ``--json`` prints."""
    from canfar_core.models import to_dict

    return [to_dict(record) for record in records]


def platform_dicts(sessions: Iterable[SessionInfo]) -> list[dict[str, Any]]:
    """Sessions as ``ps -o json`` prints them: shaped as the platform sends them."""
    return [{**s.platform_dict(), **({"kept": True} if s.kept else {})} for s in sessions]


def detailed_dicts(sessions: Iterable[SessionInfo]) -> list[dict[str, Any]]:
    """Sessions as ``info --json`` prints them: the platform's record, then ``backend``,
    ``exitCode`` and ``extra`` (what the backend knows beyond the platform's keys)."""
    from canfar_core.models import PLATFORM_KEYS

    return [
        {
            **s.platform_dict(),
            "backend": s.backend,
            "exitCode": s.exit_code,
            "kept": s.kept,
            "extra": {k: v for k, v in s.extra.items() if k not in PLATFORM_KEYS},
        }
        for s in sessions
    ]


def per_id(act: Callable[..., Any], ids: list[str]) -> tuple[Any, dict[str, str]]:
    """What ``act(ids, errors="raise")`` (a Session method about many ids) returned, and the
    reason each failed id failed, by id: the command line reports every id."""
    from canfar_core.errors import SessionRequestError

    try:
        return act(ids, errors="raise"), {}
    except SessionRequestError as exc:
        return exc.results, {str(sid): str(error) for sid, error in exc.errors.items()}


def reasons(act: Callable[..., Any], ids: list[str]) -> dict[str, str | None]:
    """``Session.destroy`` or ``renew`` as :func:`report_results` reads it: ``None`` for each
    id done, else why not."""
    done, failed = per_id(act, ids)
    return {sid: failed.get(sid) for sid in done}


def report_failure(session_id: str, reason: str) -> None:
    """One line on stderr for an id that failed: ``Error: ID: reason``, the id named once.

    A reason can come from a server: a line break or a terminal escape in it is shown escaped,
    so each failed id stays one line.
    """
    from canfar_core.output import printable

    text = reason if session_id in reason else f"{session_id}: {reason}"
    click.echo(f"Error: {printable(text)}", err=True)


def report_results(
    ctx: click.Context,
    results: dict[str, str | None],
    verb: str,
    as_json: bool,
    what: str = "sessions",
    reported: Collection[str] = (),
) -> None:
    """Print what a delete or renew did: done ids on stdout, one line per failure on stderr
    (except the ids in ``reported``, already named), exit 1 if any failed. JSON: a list of
    ``{"id", "ok", "error"}``."""
    from canfar_core.output import echo, emit_json, info

    failed = {sid: reason for sid, reason in results.items() if reason is not None}
    if as_json:
        emit_json(
            [{"id": sid, "ok": reason is None, "error": reason} for sid, reason in results.items()]
        )
    else:
        for sid, reason in results.items():
            if reason is None:
                echo(sid)
        done = len(results) - len(failed)
        if done:  # failures are named below, one line each
            info(f"{verb.capitalize()} {done} {what if done != 1 else what.rstrip('s')}.")
    for sid, reason in failed.items():
        if sid not in reported:
            report_failure(sid, reason)
    if failed:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)
