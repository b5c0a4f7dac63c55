"""Looking at sessions: ``canfar ps``, ``info``, ``events``, ``logs`` and ``open``."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING, TypeVar

import click

from canfar_core.errors import EXIT_ERROR, CanfarError
from canfar_plugins._support.machine import output_option
from canfar_plugins.session_commands.common import (
    PS_HEADERS,
    STATUS_COLOURS,
    Seconds,
    backend_option,
    detailed_dicts,
    field_label,
    ids_argument,
    ids_or_none_argument,
    interrupted,
    json_option,
    nothing_given,
    one_format,
    per_id,
    platform_dicts,
    ps_rows,
    quiet_option,
    report_failure,
    session_for,
    write_bytes,
    write_raw,
)
from canfar_plugins.session_commands.completion import complete_kinds
from canfar_plugins.session_commands.waiting import PENDING_EXPLAINED

if TYPE_CHECKING:
    from canfar.sessions import Session
    from canfar_core.models import SessionInfo

T = TypeVar("T")

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
    type=Seconds(minimum=0.2),
    is_flag=False,
    flag_value=2.0,
    default=None,
    metavar="[SECONDS]",
    help="Redraw every SECONDS (2 by default) until Ctrl-C.",
)
@click.option(
    "--why",
    is_flag=True,
    help="Say why each Pending session waits (queued, not enough CPU or memory, the image "
    f"being pulled), read from its events: one request per Pending session shown, for the "
    f"first {PENDING_EXPLAINED} at most.",
)
@backend_option
@output_option
@quiet_option
@click.pass_context
def ps(
    ctx: click.Context,
    show_all: bool,
    kind: str | None,
    status: str | None,
    watch: float | None,
    why: bool,
    backend: str | None,
    output: str | None,
    quiet: bool,
) -> None:
    """List your sessions: pending and running ones unless --all or --status.

    -o json|yaml (or --json) prints the session records as the platform sends them; with
    --why, each has a "waiting" key too (why it is Pending, or null).

    \b
      canfar ps -q | xargs canfar delete -f   # ids only, no header
      canfar ps --why                          # why Pending sessions do not start
    """
    from canfar_core.models import ACTIVE_STATUSES, LIVE_STATUSES
    from canfar_core.output import echo, info, printable
    from canfar_plugins._support.machine import emit

    as_json = output is not None
    one_format(as_json, quiet)
    if watch is not None and (as_json or quiet):
        raise click.UsageError("--watch cannot be combined with --json or --quiet")
    if why and quiet:
        raise click.UsageError("--why cannot be combined with --quiet (it prints ids only)")
    session = session_for(ctx, backend)

    # Filtered by the backend: finished sessions that are not shown cost nothing.
    wanted = status if status is not None or show_all else LIVE_STATUSES

    def current() -> list[SessionInfo]:
        return session.fetch(kind, wanted)

    def empty_note() -> str:
        if status or kind:
            return "No sessions match."
        if show_all:
            return f"No sessions on {session.context.name}."
        return (
            f"No pending or running sessions on {session.context.name} (--all shows finished ones)."
        )

    def show(sessions: list[SessionInfo]) -> None:
        if sessions:
            ps_table(session, sessions, why)
        else:
            info(empty_note())

    if watch is None:
        sessions = current()
        if as_json:
            records = platform_dicts(sessions)
            if why:
                waiting = _why_pending(session, sessions)
                records = [{**record, "waiting": waiting.get(record["id"])} for record in records]
            emit(records, output)
        elif quiet:
            for s in sessions:
                echo(printable(s.id))
        else:
            show(sessions)
        return

    last: list[SessionInfo] = []
    try:
        next_at = time.monotonic()
        while True:
            last = current()
            if sys.stdout.isatty():
                click.clear()
            stamp = time.strftime("%H:%M:%S")
            info(f"Every {watch:g}s on {session.context.name}, {stamp} (Ctrl-C to stop)")
            show(last)
            if not sys.stdout.isatty():
                echo()
            sys.stdout.flush()
            next_at = next_refresh(next_at, watch, time.monotonic())
            time.sleep(max(0.0, next_at - time.monotonic()))
    except KeyboardInterrupt:
        active = [s for s in last if s.status in ACTIVE_STATUSES]
        interrupted(ctx, f"Stopped watching; {len(active)} session(s) still pending or running.")


def ps_table(session: Session, sessions: list[SessionInfo], why: bool) -> None:
    """The ``ps`` table; with ``why``, a WAITING column read from the Pending ones' events."""
    from canfar_core.output import info, table

    if not why:
        table(ps_rows(sessions), headers=PS_HEADERS)
        return
    waiting = _why_pending(session, sessions)
    reasons = [waiting.get(s.id, "-") for s in sessions]
    rows = [(*row, reason) for row, reason in zip(ps_rows(sessions), reasons, strict=True)]
    table(rows, headers=(*PS_HEADERS, "WAITING"))
    pending = [s.id for s in sessions if s.status == "Pending"]
    if len(pending) > PENDING_EXPLAINED:
        info(
            f"Why: the events of the first {PENDING_EXPLAINED} of {len(pending)} Pending "
            f"sessions were read; canfar info ID says why another waits."
        )


def next_refresh(previous: float, period: float, now: float) -> float:
    """When ``ps --watch`` redraws next: one period after the previous redraw began, so the
    time a listing takes is not added to the period; if a listing took longer than a period,
    at once."""
    return max(previous + period, now)


def info_lines(state: SessionInfo) -> list[tuple[str, str]]:
    """What ``canfar info`` prints of one session: the known fields, then the backend's own."""
    lines = []
    for attr, label in INFO_FIELDS:
        value = getattr(state, attr)
        if value is not None and value != "":
            lines.append((label, f"{value:g}" if isinstance(value, float) else str(value)))
    for key, value in state.extra.items():
        if value is not None and value != "" and not isinstance(value, (dict, list)):
            lines.append((field_label(str(key)), _word(value)))
    if state.kept:
        lines.append(("kept", "a copy kept here: the server has forgotten this session"))
    return lines


def _word(value: object) -> str:
    """A backend's value as a person reads it: ``True`` as ``yes``, ``False`` as ``no``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


@click.command()
@ids_argument
@backend_option
@json_option
@click.pass_context
def info(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Show everything known about sessions."""
    from canfar_core.output import echo, emit_json, printable, style
    from canfar_core.validation import check_ids

    session = session_for(ctx, backend)
    found, missing = per_id(session.info, check_ids(ids))
    for sid, reason in missing.items():
        report_failure(sid, reason)
    waiting = _why_pending(session, found)
    if as_json:
        emit_json([{**d, "waiting": waiting.get(d["id"])} for d in detailed_dicts(found)])
    else:
        for number, state in enumerate(found):
            if number:
                echo()
            extra = [("waiting", waiting[state.id])] if state.id in waiting else []
            for label, value in [*info_lines(state), *extra]:
                label, value = printable(label), printable(value)
                if label == "status":
                    value = style(value, fg=STATUS_COLOURS.get(value))
                echo(f"{label + ':':<{INFO_WIDTH}} {value}")
    if missing:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


def _why_pending(session: Session, found: list[SessionInfo]) -> dict[str, str]:
    """Why each pending session waits, from its events (at most PENDING_EXPLAINED read)."""
    from canfar_plugins.session_commands.waiting import pending_reason

    pending = [s.id for s in found if s.status == "Pending"][:PENDING_EXPLAINED]
    texts = (session.events(pending, errors="ignore") or []) if pending else []
    reasons = {sid: pending_reason(text) for entry in texts for sid, text in entry.items()}
    return {sid: reason for sid, reason in reasons.items() if reason}


@click.command(short_help="Show sessions' scheduling events.")
@ids_argument
@backend_option
@json_option
@click.pass_context
def events(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Show sessions' scheduling events (why one is pending, why it failed).

    One ID: its events as the backend gives them. Several: each one's after a line
    ==> ID <== (as tail does); an id that failed is named on stderr (exit 1).
    """
    from canfar_core.output import emit_json
    from canfar_core.validation import check_ids

    checked = check_ids(ids)
    answers, failures = per_id(session_for(ctx, backend).events, checked)
    texts = {sid: text for answer in answers or [] for sid, text in answer.items()}
    if len(checked) == 1 and not failures:
        text = texts[checked[0]]
        if as_json:
            emit_json({"id": checked[0], "events": text})
        else:
            write_raw(text if not text or text.endswith("\n") else text + "\n")
        return
    found: list[dict[str, str]] = []
    for session_id in checked:
        if session_id in failures:
            report_failure(session_id, failures[session_id])
            continue
        answer = texts[session_id]
        found.append({"id": session_id, "events": answer})
        if not as_json:
            write_raw(("\n" if len(found) > 1 else "") + f"==> {session_id} <==\n")
            write_raw(answer if not answer or answer.endswith("\n") else answer + "\n")
    if as_json:
        emit_json(found)
    if failures:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


@click.command(short_help="Print or save sessions' output.")
@ids_or_none_argument
@click.option("-f", "--follow", is_flag=True, help="Keep printing output until the session ends.")
@click.option(
    "-o",
    "--output",
    metavar="DIR",
    help="Save each session's output to DIR/NAME.ID.log instead of printing it.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="With --output: print only the paths written, on stdout."
)
@backend_option
@json_option
@click.pass_context
def logs(
    ctx: click.Context,
    ids: tuple[str, ...],
    follow: bool,
    output: str | None,
    quiet: bool,
    backend: str | None,
    as_json: bool,
) -> None:
    """Print sessions' output exactly as it was written, or save it to files.

    One ID: its output, unaltered (-f follows it as it grows). Several: each one's output
    after a line ==> ID <== (as tail does).

    With -o DIR each session's output is saved to DIR/NAME.ID.log (DIR is created): the
    session's name with its trailing replica number padded to three digits, so that ls lists
    replicas in order (fit-7 gives fit-007.ID.log), then its id, which keeps every name unique.
    A file is replaced whole, never left half-written. One line per file on stderr (-q: the
    paths on stdout), one error line per session that failed (exit 1).

    Finished headless sessions are removed about an hour after they end: save their output
    before that.

    \b
      canfar logs -o logs/ $(canfar ps -q --all)
      canfar logs ID > ID.log

    With -o and no ID (no session to save), a note and exit 0.
    """
    from canfar_core.output import emit_json
    from canfar_core.validation import check_ids

    one_format(as_json, quiet)
    if follow and as_json:
        raise click.UsageError("--follow cannot be combined with --json")
    if follow and (output is not None or len(ids) > 1):
        raise click.UsageError("--follow follows one session, to stdout: give one ID and no -o")
    if quiet and output is None:
        raise click.UsageError("--quiet goes with --output (it prints the paths written)")
    if not ids:
        if output is None:
            raise click.UsageError("give the id of the session whose output to print")
        nothing_given("save", as_json)
        return
    checked = check_ids(ids)
    session = session_for(ctx, backend)
    if output is not None:
        _save_logs(ctx, session, checked, output, quiet=quiet, as_json=as_json)
        return
    if len(checked) > 1:
        _print_logs(ctx, session, checked, as_json=as_json)
        return
    session_id = checked[0]
    if not follow:
        if not as_json:  # straight through, never all in memory
            write_bytes(session.stream_logs(session_id))
            _note_kept(session, [session_id])
            return
        emit_json({"id": session_id, "logs": _texts(session, [session_id])[session_id]})
        return
    try:
        for chunk in session.follow_logs(session_id):
            write_raw(chunk)
    except KeyboardInterrupt:
        state = "still running"
        with contextlib.suppress(Exception):  # a courtesy note; never fail the interrupt on it
            state = f"still {session.info(session_id, errors='raise')[0].status}"
        interrupted(ctx, f"Stopped following; session {session_id} is {state}.")


def _note_kept(session: Session, ids: list[str]) -> None:
    """On stderr: which logs came from the copy kept here (the server forgot the session)."""
    journal = getattr(session.backend, "journal", None)  # a backend whose server forgets
    if journal is None:
        return
    for session_id in ids:
        if journal.log_path(session_id) is not None:
            click.echo(f"Note: the log of {session_id} is the copy kept here.", err=True)


def _texts(session: Session, ids: list[str]) -> dict[str, str]:
    """Each session's logs by id, raising the one failure of a single id as it is."""
    texts, failures = per_id(session.logs, ids)
    if len(ids) == 1 and failures:
        raise CanfarError(failures[ids[0]])
    return texts or {}


def _print_logs(ctx: click.Context, session: Session, ids: list[str], as_json: bool) -> None:
    """Several sessions' output on stdout: after ``==> ID <==`` lines, or as a JSON list."""
    from canfar_core.output import emit_json

    texts, failures = per_id(session.logs, ids)
    found: list[dict[str, str]] = []
    for session_id in ids:
        if session_id in failures:
            report_failure(session_id, failures[session_id])
            continue
        text = texts[session_id]
        if as_json:
            found.append({"id": session_id, "logs": text})
            continue
        write_raw(("\n" if found else "") + f"==> {session_id} <==\n")
        write_raw(text)
        found.append({"id": session_id})
    if as_json:
        emit_json(found)
    if failures:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


def _session_names(session: Session, ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The name of each session (one listing, ``info`` for ids it lacks), and why each id
    that has none was not found."""
    names = {s.id: s.name for s in session.fetch() if s.id in ids}
    others = [session_id for session_id in ids if session_id not in names]
    found, missing = per_id(session.info, others) if others else ([], {})
    names.update({s.id: s.name for s in found or []})
    return names, missing


def _save_logs(
    ctx: click.Context,
    session: Session,
    ids: list[str],
    output: str,
    *,
    quiet: bool,
    as_json: bool,
) -> None:
    """Each session's output to ``output/NAME.ID.log``; what was written, per id."""
    import functools
    from pathlib import Path

    from canfar_core.output import echo, emit_json, info
    from canfar_plugins.session_commands.logfiles import (
        current_umask,
        log_filename,
        make_folder,
        write_file,
    )

    folder = Path(output)
    make_folder(folder)
    names, missing = _session_names(session, ids)
    mode = 0o666 & ~current_umask()

    def save(session_id: str) -> tuple[Path, int]:  # written as it downloads, never held
        path = folder / log_filename(names[session_id], session_id)
        return path, write_file(path, session.stream_logs(session_id), mode)

    named = [i for i in ids if i in names]
    saved, failures = per_id(functools.partial(session.for_each, work=save), named)
    rows: list[dict[str, object]] = []
    failed = False
    for session_id in ids:
        result = (saved or {}).get(session_id)
        reason = missing.get(session_id) or failures.get(session_id)
        if reason is not None or result is None:
            failed = True
            report_failure(session_id, reason or "not saved")
            rows.append({"id": session_id, "path": None, "bytes": None, "error": reason})
            continue
        path, size = result
        rows.append({"id": session_id, "path": str(path), "bytes": size, "error": None})
        if as_json:
            continue
        if quiet:
            echo(str(path))
        else:
            info(f"Saved {session_id} to {path} ({size} bytes).")
    if as_json:
        emit_json(rows)
    if failed:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


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
@ids_argument
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
    from canfar_core.validation import check_ids

    checked = check_ids(ids)
    session = session_for(ctx, backend)
    kinds = session.kinds()
    opened: list[dict[str, str]] = []
    browser = not no_browser and not as_json and browser_available()
    found, problems = per_id(session.info, checked)
    openable = []
    for state in found or []:
        kind = kinds.get(state.kind)
        if kind is not None and not kind.interactive:
            problems[state.id] = (
                f"session {state.id} is {state.kind}: it has no page to open "
                f"(see: canfar logs {state.id})"
            )
        elif state.status != "Running":
            problems[state.id] = (
                f"session {state.id} is {state.status}; it can be opened once it is Running"
            )
        else:
            openable.append(state.id)
    urls, failures = per_id(session.urls, openable) if openable else ({}, {})
    problems.update(failures)
    for sid in checked:
        if sid in problems:
            report_failure(sid, problems[sid])
            continue
        url = urls[sid]
        opened.append({"id": sid, "url": url})
        if not as_json:
            echo(url)
        if browser:
            webbrowser.open(url, new=2)
    if as_json:
        emit_json(opened)
    if problems:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)
