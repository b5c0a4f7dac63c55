"""Looking at sessions: ``canfar ps``, ``info``, ``events``, ``logs`` and ``open``."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING

import click

from canfar_core.errors import EXIT_ERROR, CanfarError
from canfar_plugins.session_commands.common import (
    PS_HEADERS,
    STATUS_COLOURS,
    backend_option,
    dicts,
    interrupted,
    json_option,
    one_format,
    ps_rows,
    quiet_option,
    report_failure,
    session_for,
    write_raw,
)
from canfar_plugins.session_commands.completion import complete_kinds, complete_session_ids

if TYPE_CHECKING:
    from canfar_core.models import SessionInfo

#: Fields ``canfar info`` shows, with their labels, in order.
INFO_FIELDS = (
    ("id", "id"),
    ("name", "name"),
    ("kind", "kind"),
    ("status", "status"),
    ("image", "image"),
    ("backend", "backend"),
    ("user", "user"),
    ("start_time", "started"),
    ("expiry_time", "expires"),
    ("connect_url", "url"),
    ("cores", "cores"),
    ("ram", "ram (GB)"),
    ("gpus", "gpus"),
    ("cores_in_use", "cores in use"),
    ("ram_in_use", "ram in use (GB)"),
    ("exit_code", "exit code"),
)
#: Width of the label column of ``canfar info``.
INFO_WIDTH = 16


@click.command(short_help="List your sessions.")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include finished sessions.")
@click.option(
    "-k",
    "--kind",
    shell_complete=complete_kinds,
    metavar="KIND",
    help="Only sessions of this kind.",
)
@click.option("-s", "--status", metavar="STATUS", help="Only sessions in this status.")
@click.option(
    "--watch",
    type=click.FloatRange(min=0.2),
    is_flag=False,
    flag_value=2.0,
    default=None,
    metavar="[SECONDS]",
    help="Redraw every SECONDS (2 by default) until Ctrl-C.",
)
@backend_option
@json_option
@quiet_option
@click.pass_context
def ps(
    ctx: click.Context,
    show_all: bool,
    kind: str | None,
    status: str | None,
    watch: float | None,
    backend: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """List your sessions: pending and running ones unless --all or --status.

    \b
      canfar ps -q | xargs canfar delete      # ids only, no header
    """
    from canfar_core.models import ACTIVE_STATUSES
    from canfar_core.output import echo, emit_json, info, table

    one_format(as_json, quiet)
    if watch is not None and (as_json or quiet):
        raise click.UsageError("--watch cannot be combined with --json or --quiet")
    session = session_for(ctx, backend)

    def current() -> list[SessionInfo]:
        found = session.fetch(kind=kind, status=status)
        if status is None and not show_all:
            found = [s for s in found if s.status in ACTIVE_STATUSES]
        return found

    def empty_note() -> str:
        if status or kind:
            return "No sessions match."
        if show_all:
            return f"No sessions on {session.context.name}."
        return (
            f"No pending or running sessions on {session.context.name} (--all shows finished ones)."
        )

    if watch is None:
        sessions = current()
        if as_json:
            emit_json(dicts(sessions))
        elif quiet:
            for s in sessions:
                echo(s.id)
        elif sessions:
            table(ps_rows(sessions), headers=PS_HEADERS)
        else:
            info(empty_note())
        return

    last: list[SessionInfo] = []
    try:
        while True:
            last = current()
            if sys.stdout.isatty():
                click.clear()
            stamp = time.strftime("%H:%M:%S")
            info(f"Every {watch:g}s on {session.context.name}, {stamp} (Ctrl-C to stop)")
            if last:
                table(ps_rows(last), headers=PS_HEADERS)
            else:
                info(empty_note())
            if not sys.stdout.isatty():
                echo()
            sys.stdout.flush()
            time.sleep(watch)
    except KeyboardInterrupt:
        active = [s for s in last if s.status in ACTIVE_STATUSES]
        interrupted(ctx, f"Stopped watching; {len(active)} session(s) still pending or running.")


def info_lines(state: SessionInfo) -> list[tuple[str, str]]:
    """What ``canfar info`` prints of one session: the known fields, then the backend's own."""
    lines = []
    for attr, label in INFO_FIELDS:
        value = getattr(state, attr)
        if value is not None and value != "":
            lines.append((label, f"{value:g}" if isinstance(value, float) else str(value)))
    for key, value in state.extra.items():
        if value is not None and value != "" and not isinstance(value, (dict, list)):
            lines.append((str(key), str(value)))
    return lines


@click.command()
@click.argument(
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=complete_session_ids
)
@backend_option
@json_option
@click.pass_context
def info(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Show everything known about sessions."""
    from canfar_core.errors import NotFound
    from canfar_core.output import echo, emit_json, style
    from canfar_core.sessions import check_ids

    checked = check_ids(ids)
    session = session_for(ctx, backend)
    found: list[SessionInfo] = []
    missing: list[str] = []
    for sid in checked:
        try:
            found.append(session.info(sid))
        except NotFound as exc:
            missing.append(sid)
            report_failure(sid, str(exc))
    if as_json:
        emit_json(dicts(found))
    else:
        for number, state in enumerate(found):
            if number:
                echo()
            for label, value in info_lines(state):
                if label == "status":
                    value = style(value, fg=STATUS_COLOURS.get(value))
                echo(f"{label + ':':<{INFO_WIDTH}} {value}")
    if missing:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


@click.command(short_help="Show a session's scheduling events.")
@click.argument("session_id", metavar="ID", shell_complete=complete_session_ids)
@backend_option
@json_option
@click.pass_context
def events(ctx: click.Context, session_id: str, backend: str | None, as_json: bool) -> None:
    """Show a session's scheduling events (why it is pending, why it failed)."""
    from canfar_core.output import emit_json

    text = session_for(ctx, backend).events(session_id)
    if as_json:
        emit_json({"id": session_id, "events": text})
    else:
        write_raw(text if not text or text.endswith("\n") else text + "\n")


@click.command()
@click.argument("session_id", metavar="ID", shell_complete=complete_session_ids)
@click.option("-f", "--follow", is_flag=True, help="Keep printing output until the session ends.")
@backend_option
@json_option
@click.pass_context
def logs(
    ctx: click.Context, session_id: str, follow: bool, backend: str | None, as_json: bool
) -> None:
    """Print a session's output, exactly as it was written.

    Save it before a finished headless session is removed: canfar logs ID > ID.log
    """
    from canfar_core.output import emit_json

    if follow and as_json:
        raise click.UsageError("--follow cannot be combined with --json")
    session = session_for(ctx, backend)
    if not follow:
        text = session.logs(session_id)
        if as_json:
            emit_json({"id": session_id, "logs": text})
        else:
            write_raw(text)
        return
    try:
        for chunk in session.follow_logs(session_id):
            write_raw(chunk)
    except KeyboardInterrupt:
        state = "still running"
        with contextlib.suppress(Exception):  # a courtesy note; never fail the interrupt on it
            state = f"still {session.info(session_id).status}"
        interrupted(ctx, f"Stopped following; session {session_id} is {state}.")


def browser_available() -> bool:
    """True when a graphical browser can open (a text browser would take over the terminal)."""
    import webbrowser

    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


@click.command("open", short_help="Print and open the URL of interactive sessions.")
@click.argument(
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=complete_session_ids
)
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
@backend_option
@json_option
@click.pass_context
def open_(
    ctx: click.Context, ids: tuple[str, ...], no_browser: bool, backend: str | None, as_json: bool
) -> None:
    """Print the URL of interactive sessions, and open it in a browser if one is available
    (never with --no-browser or --json)."""
    import webbrowser

    from canfar_core.output import echo, emit_json
    from canfar_core.sessions import check_ids

    checked = check_ids(ids)
    session = session_for(ctx, backend)
    kinds = session.kinds()
    problems: list[str] = []
    opened: list[dict[str, str]] = []
    browser = not no_browser and not as_json and browser_available()
    for sid in checked:
        try:
            state = session.info(sid)
            kind = kinds.get(state.kind)
            if kind is not None and not kind.interactive:
                raise CanfarError(
                    f"session {sid} is {state.kind}: it has no page to open "
                    f"(see: canfar logs {sid})"
                )
            if state.status != "Running":
                raise CanfarError(
                    f"session {sid} is {state.status}; it can be opened once it is Running"
                )
            url = session.open_url(sid)
        except CanfarError as exc:
            report_failure(sid, str(exc))
            problems.append(sid)
            continue
        opened.append({"id": sid, "url": url})
        if not as_json:
            echo(url)
        if browser:
            webbrowser.open(url, new=2)
    if as_json:
        emit_json(opened)
    if problems:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)
