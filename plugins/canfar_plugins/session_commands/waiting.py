"""Waiting for sessions from the command line: ``canfar wait``, and what ``create --wait`` shares
with it (the wanted status of each kind, the progress line, the report of sessions that did not
get there)."""

from __future__ import annotations

import contextlib
import sys
import time
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
    from canfar.sessions import Progress, Session
    from canfar_core.models import SessionInfo, SessionSpec
    from canfar_plugins._support.runs import ReplicaResult

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
    from canfar_core.models import ENDED_STATUSES
    from canfar_plugins._support.runs import VANISHED

    ended = (*ENDED_STATUSES, VANISHED)
    return [s for s in states if not reached(s, wanted) and s.status in ended]


class WaitProgress:
    """The progress line on stderr. On a terminal, one line rewritten in place: the count in
    each status of N, the time elapsed and, once some have ended, an estimate of the time left
    (from the pace at which they ended); on a pipe, one line per change."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.current: dict[str, SessionInfo] = {}
        self.started = time.monotonic()

    def __call__(self, current: dict[str, SessionInfo]) -> None:
        from canfar_core.models import STATUSES

        self.current = current
        counts: dict[str, int] = {}
        for state in current.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        order = [*STATUSES, *sorted(set(counts) - set(STATUSES))]
        line = "Waiting: " + ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
        if self.tty:
            sys.stderr.write("\r" + line + self.pace(counts, len(current)) + "\x1b[K")
            sys.stderr.flush()
        elif line != self.last:
            click.echo(line, err=True)
        self.last = line

    def pace(self, counts: dict[str, int], total: int) -> str:
        """`` of N, 2m05s, about 4m left``: what the terminal line adds to the counts."""
        elapsed = time.monotonic() - self.started
        ended = counts.get("Completed", 0) + counts.get("Failed", 0)
        text = f" of {total}, {duration(elapsed)}"
        if 0 < ended < total:
            text += f", about {duration(elapsed / ended * (total - ended))} left"
        return text

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.last = ""


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def wait_for(
    ctx: click.Context,
    session: Session,
    ids: list[str],
    timeout: float | None,
    wanted: str,
    spec: SessionSpec | None = None,
) -> dict[str, SessionInfo]:
    """The sessions' states once each reached ``wanted`` or ended, with a progress line
    meanwhile; Ctrl-C names the sessions that keep going, and exits 130. With ``spec`` (the
    launch that started them: ``create --wait``), followed by :meth:`Session.run`'s machinery:
    a session that vanishes meanwhile is reported ``Vanished``, the others waited for still."""
    from canfar_core.models import ACTIVE_STATUSES

    progress = WaitProgress()
    try:
        if spec is not None:
            return followed(session, spec, ids, timeout, wanted, progress)
        return session.wait(
            ids,
            status=wanted,
            timeout=timeout,
            progress=keeping_logs(session, progress),
            poll=POLL_SECONDS,
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


def followed(
    session: Session,
    spec: SessionSpec,
    ids: list[str],
    timeout: float | None,
    wanted: str,
    progress: WaitProgress,
) -> dict[str, SessionInfo]:
    """The launched replicas run to ``wanted`` (no retries), as ``create --wait --retries`` and
    ``Session.run`` run them; each one's last state, a vanished one's status ``Vanished``."""
    from canfar.sessions import WaitTimeout
    from canfar_plugins._support.runs import follow

    try:
        results = follow(
            session, spec, ids, until=(wanted,), timeout=timeout, poll=POLL_SECONDS,
            progress=progress,
        )  # fmt: skip
    except WaitTimeout as exc:
        exc.sessions = last_states(spec, exc.results, progress.current)  # type: ignore[attr-defined]
        raise
    return last_states(spec, results, progress.current)


def last_states(
    spec: SessionSpec, results: list[ReplicaResult], seen: dict[str, SessionInfo]
) -> dict[str, SessionInfo]:
    """Each replica's session as last seen, by id; one that vanished marked so, with why."""
    import dataclasses

    from canfar_core.models import SessionInfo
    from canfar_plugins._support.runs import VANISHED

    states = {}
    for result in results:
        if result.id is None:
            continue
        last = seen.get(result.id)
        if result.status == VANISHED:
            last = last or SessionInfo(
                result.id, result.name, spec.kind, spec.image, VANISHED, spec.backend
            )
            why = {**last.extra, "reason": result.attempts[-1].reason}
            last = dataclasses.replace(last, status=VANISHED, extra=why)
        if last is not None:
            states[result.id] = last
    return states


def keeping_logs(session: Session, progress: Progress) -> Progress:
    """``progress``, and on a backend that keeps finished sessions (a ``journal``: the server
    forgets them), each session's log read once as it ends, so that a copy is kept."""
    if getattr(session.backend, "journal", None) is None:
        return progress
    read: set[str] = set()

    def drain(session_id: str) -> None:
        for _ in session.stream_logs(session_id):
            pass

    def watch(current: dict[str, SessionInfo]) -> None:
        from canfar_core.models import FINAL_STATUSES

        progress(current)
        ended = [sid for sid, s in current.items() if s.status in FINAL_STATUSES]
        ended = [sid for sid in ended if sid not in read]
        read.update(ended)
        if ended:
            session.for_each(ended, drain, errors="ignore")

    return watch


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


#: What a pending session's events say, and how ``info`` says it: the first that matches.
PENDING_REASONS = (
    ("insufficient cpu", "not enough free CPU cores on the platform"),
    ("insufficient memory", "not enough free memory on the platform"),
    ("insufficient nvidia.com/gpu", "no free GPU on the platform"),
    ("imagepullbackoff", "the image cannot be pulled"),
    ("errimagepull", "the image cannot be pulled"),
    ("pulling image", "pulling the image"),
    ("queue", "queued"),
    ("quota", "queued: over quota"),
    ("failedscheduling", "no node can take it yet"),
    ("pending: resources", "waiting for free resources on the cluster"),  # Slurm's reasons
    ("pending: priority", "queued behind jobs of higher priority"),
)
#: The events of at most this many pending sessions are read by ``info``.
PENDING_EXPLAINED = 10


def pending_reason(events: str) -> str | None:
    """Why a pending session waits, from its events (the latest that says): a few words, then
    the event's own message; ``None`` when they do not say."""
    for line in reversed([line.strip() for line in events.splitlines() if line.strip()]):
        lowered = line.lower()
        for needle, words in PENDING_REASONS:
            if needle in lowered:
                return f"{words} ({' '.join(line.split())})"
    return None


def report_not_reached(session: Session, states: list[SessionInfo], wanted: str) -> None:
    """One ``Error:`` line per session that ended without reaching ``wanted``, with why."""
    from canfar_plugins._support.runs import VANISHED

    for number, state in enumerate(states):
        look = number < FAILURES_EXPLAINED and state.status != VANISHED  # no events left
        why = why_failed(session, state, look=look)
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
    from canfar.sessions import WaitTimeout
    from canfar_core.output import echo, emit_json, table
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


def run_with_retries(
    ctx: click.Context,
    session: Session,
    spec: SessionSpec,
    retries: int,
    timeout: float | None,
    output: str | None,
    quiet: bool,
) -> None:
    """``create --wait --retries N``: :meth:`Session.run`, with the progress line; a line per
    replica that needed retries (how each attempt ended), the log tail of each that never
    completed, and exit 1 unless every replica finally completed."""
    from canfar.sessions import WaitTimeout
    from canfar_core.models import ACTIVE_STATUSES
    from canfar_core.output import echo, table
    from canfar_plugins._support.machine import emit
    from canfar_plugins._support.runs import run

    progress = WaitProgress()
    gave_up: WaitTimeout | None = None
    try:
        results = run(
            session, spec, retries=retries, timeout=timeout, poll=POLL_SECONDS, progress=progress
        )
    except WaitTimeout as exc:
        results, gave_up = exc.results, exc  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        progress.done()
        still = [s.id for s in progress.current.values() if s.status in ACTIVE_STATUSES]
        interrupted(
            ctx,
            f"Interrupted: {len(still)} sessions are still pending or running and keep going "
            f"(no more retries): {' '.join(still)}\n"
            f"Stop them with: canfar delete {' '.join(still)}",
        )
        raise  # not reached: interrupted() exits
    finally:
        progress.done()
    if output is not None:
        emit([result.to_dict() for result in results], output)
    elif quiet:
        for result in results:
            echo(result.id or "-")
    else:
        table(
            [
                (r.replica, r.id or "-", r.name, r.status, _or_dash(r.exit_code), len(r.attempts))
                for r in results
            ],
            headers=("REPLICA", "ID", "NAME", "STATUS", "EXIT CODE", "ATTEMPTS"),
        )
    for result in results:
        if len(result.attempts) > 1:
            tried = ", ".join(f"{a.id or '-'} {a.status}" for a in result.attempts)
            click.echo(f"Retried replica {result.replica} ({result.name}): {tried}", err=True)
    missed = [r for r in results if not r.ok]
    for result in missed if gave_up is None else ():
        last = result.attempts[-1] if result.attempts else None
        why = "; ".join(
            str(part)
            for part in (
                None if last is None or last.exit_code is None else f"exit code {last.exit_code}",
                last.reason if last else None,
            )
            if part
        )
        plural = "s" if len(result.attempts) != 1 else ""
        click.echo(
            f"Error: replica {result.replica} ({result.name}) ended {result.status} after "
            f"{len(result.attempts)} attempt{plural}" + (f": {why}" if why else ""),
            err=True,
        )
        for line in result.log_tail.splitlines():
            click.echo(f"  | {line}", err=True)
        if result.status == "Unknown":  # its launch's answer was lost: it may be running
            click.echo(
                f"Look for {result.name} with: canfar ps -a; launch it again only if it is not "
                "listed.",
                err=True,
            )
    if gave_up is not None:
        raise gave_up
    if missed:
        raise CanfarError(f"{len(missed)} of {len(results)} replicas did not complete")


def _or_dash(value: object) -> object:
    return "-" if value is None else value
