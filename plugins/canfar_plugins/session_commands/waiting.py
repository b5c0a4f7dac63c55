"""Waiting for sessions from the command line: ``canfar wait``, and what ``create --wait`` shares
with it (the wanted status of each kind, the progress line, the report of sessions that did not
get there)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from canfar_core.errors import CanfarError
from canfar_plugins.session_commands.common import (
    Seconds,
    backend_option,
    ids_or_none_argument,
    interrupted,
    json_option,
    nothing_given,
    one_format,
    quiet_option,
    session_for,
)

if TYPE_CHECKING:
    from canfar_core.models import SessionInfo
    from canfar_core.sessions import Session

#: The events of at most this many sessions are looked up to say why they did not get there.
FAILURES_EXPLAINED = 10
#: Seconds between two looks at the sessions waited for.
POLL_SECONDS = 1.0


def check_wanted(status: str, option: str = "--status") -> str:
    """A status one can wait for, canonically spelt: Running, Completed (or the public client's
    Succeeded) or Failed (Error)."""
    from canfar_core.errors import ValidationError
    from canfar_core.public_names import canonical_status

    try:
        wanted = canonical_status(status)
    except ValidationError:
        wanted = None
    if wanted in ("Running", "Completed", "Failed"):
        return wanted
    what = "cannot be waited for" if wanted else "is not a status"
    raise click.BadParameter(
        f"{status!r} {what}: wait for Running, Completed or Failed", param_hint=f"'{option}'"
    )


def default_wanted(session: Session, kind: str) -> str:
    """What a user of this kind waits for: an interactive session to be Running (it is used
    while it runs), a batch one to have Completed (its work is done)."""
    kind_info = session.kinds().get(kind)
    return "Running" if kind_info is not None and kind_info.interactive else "Completed"


def reached(state: SessionInfo, wanted: str) -> bool:
    """Whether a session got to ``wanted``: a Completed one has been Running too."""
    return state.status == wanted or (wanted == "Running" and state.status == "Completed")


def ended_elsewhere(states: Iterable[SessionInfo], wanted: str) -> list[SessionInfo]:
    """The sessions that ended without reaching ``wanted``: they never will."""
    from canfar_core.sessions import ENDED_STATUSES

    return [s for s in states if not reached(s, wanted) and s.status in ENDED_STATUSES]


class WaitProgress:
    """The progress line on stderr: rewritten on a terminal, else one line per change."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.current: dict[str, SessionInfo] = {}

    def __call__(self, current: dict[str, SessionInfo]) -> None:
        from canfar_core.models import STATUSES

        self.current = current
        counts: dict[str, int] = {}
        for state in current.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        order = [*STATUSES, *sorted(set(counts) - set(STATUSES))]
        line = "Waiting: " + ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
        if self.tty:
            sys.stderr.write("\r" + line + "\x1b[K")
            sys.stderr.flush()
        elif line != self.last:
            click.echo(line, err=True)
        self.last = line

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.last = ""


def wait_for(
    ctx: click.Context,
    session: Session,
    ids: list[str],
    timeout: float | None,
    wanted: str,
) -> dict[str, SessionInfo]:
    """The sessions' states once each reached ``wanted`` or ended, with a progress line
    meanwhile; Ctrl-C names the sessions that keep going, and exits 130."""
    from canfar_core.models import ACTIVE_STATUSES

    progress = WaitProgress()
    try:
        return session.wait(
            ids, status=wanted, timeout=timeout, progress=progress, poll=POLL_SECONDS
        )
    except KeyboardInterrupt:
        progress.done()
        still = [
            sid
            for sid in ids
            if sid not in progress.current or progress.current[sid].status in ACTIVE_STATUSES
        ]
        interrupted(
            ctx,
            f"Interrupted: {len(still)} of {len(ids)} sessions are still pending or running "
            f"and keep going: {' '.join(still)}\nStop them with: canfar delete {' '.join(still)}",
        )
        raise  # not reached: interrupted() exits
    finally:
        progress.done()


def why_failed(session: Session, state: SessionInfo, look: bool) -> str:
    """The exit code and the last scheduling event of a failed session, as far as known."""
    parts = [] if state.exit_code is None else [f"exit code {state.exit_code}"]
    reason = state.extra.get("reason")
    if isinstance(reason, str) and reason and reason not in parts:
        parts.append(reason)
    if look:
        with contextlib.suppress(CanfarError):
            (events,) = session.events(state.id, errors="raise") or [{}]
            lines = [line.strip() for line in events.get(state.id, "").splitlines()]
            lines = [line for line in lines if line and line != "<none>"]
            if lines:
                parts.append(lines[-1])
    parts.append(f"see: canfar logs {state.id}; canfar events {state.id}")
    return "; ".join(parts)


def report_not_reached(session: Session, states: list[SessionInfo], wanted: str) -> None:
    """One ``Error:`` line per session that ended without reaching ``wanted``, with why."""
    for number, state in enumerate(states):
        why = why_failed(session, state, look=number < FAILURES_EXPLAINED)
        verb = "failed" if state.status == "Failed" else f"ended {state.status}"
        if wanted == "Failed":
            verb = f"ended {state.status}, not Failed"
        click.echo(f"Error: {state.id} ({state.name}) {verb}: {why}", err=True)


@click.command(short_help="Wait until sessions complete (or reach a status).")
@ids_or_none_argument
@click.option(
    "-s",
    "--status",
    "wanted",
    default="Completed",
    show_default=True,
    metavar="STATUS",
    help="Wait until every session is Running, Completed or Failed.",
)
@click.option("--timeout", type=Seconds(), metavar="SECONDS", help="Give up after this long.")
@backend_option
@json_option
@quiet_option
@click.pass_context
def wait(
    ctx: click.Context,
    ids: tuple[str, ...],
    wanted: str,
    timeout: float | None,
    backend: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Wait until every session reached STATUS (Completed unless --status), and say so.

    Exit 0 only when every session got there. A session that ends another way (a batch job
    that Failed while you wait for Completed) is named on stderr with its exit code and last
    event, and the exit code is 1; so is a --timeout that runs out (the sessions not there yet
    are named). Waiting for Running, a session that has already Completed counts as arrived.

    \b
      canfar wait $(canfar create -q headless skaha/astroml:latest -r 10 -- python fit.py)
      canfar wait ID --status Running --timeout 600 && canfar open ID

    With no ID (`canfar wait $(canfar ps -q)` when nothing runs) there is nothing to wait for:
    a note, exit 0.
    """
    from canfar_core.output import echo, emit_json, table
    from canfar_core.sessions import WaitTimeout
    from canfar_core.validation import check_ids

    one_format(as_json, quiet)
    wanted = check_wanted(wanted)
    if not ids:
        nothing_given("wait for", as_json)
        return
    checked = check_ids(ids)
    session = session_for(ctx, backend)
    gave_up: WaitTimeout | None = None
    try:
        states = wait_for(ctx, session, checked, timeout, wanted)
    except WaitTimeout as exc:
        states, gave_up = exc.sessions, exc
    ordered = [states[sid] for sid in checked if sid in states]
    if as_json:
        emit_json(
            [
                {
                    "id": s.id,
                    "name": s.name,
                    "status": s.status,
                    "exit_code": s.exit_code,
                    "reached": reached(s, wanted),
                }
                for s in ordered
            ]
        )
    elif quiet:
        for s in ordered:
            if reached(s, wanted):
                echo(s.id)
    else:
        table(
            [
                (s.id, s.name, s.status, "-" if s.exit_code is None else s.exit_code)
                for s in ordered
            ],
            headers=("ID", "NAME", "STATUS", "EXIT CODE"),
        )
    failed = ended_elsewhere(ordered, wanted)
    report_not_reached(session, failed, wanted)
    if gave_up is not None:
        raise gave_up
    if failed:
        raise CanfarError(f"{len(failed)} of {len(ordered)} sessions did not reach {wanted}")
