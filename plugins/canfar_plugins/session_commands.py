"""Built-in plugin: the session commands (create, ps, info, events, logs, open, delete, prune,
renew, stats, images, completion).

Every command is a thin layer over :class:`canfar_core.sessions.Session`, the same code path as
the Python API. Output rules: data on stdout (a table, ``--json`` or bare ids with ``-q``),
messages and errors on stderr; exit 0 on success, 1 on a runtime failure, 2 on bad input, 130
when interrupted.

This module is imported at start-up to list its commands, so at module level it imports only click
and the light core modules; the session API, tabulate and json are imported inside the commands.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from canfar_core import hookimpl
from canfar_core.errors import EXIT_ERROR, EXIT_INTERRUPTED, CanfarError, ValidationError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from canfar_core.models import SessionInfo, SessionSpec
    from canfar_core.sessions import Session

F = TypeVar("F", bound=Callable[..., Any])

#: Seconds shell completion waits for the backend before offering nothing.
COMPLETION_TIMEOUT = 2.0
#: Deleting at least this many sessions on a terminal shows a progress bar.
PROGRESS_THRESHOLD = 10
#: How many sessions one backend call deletes while a progress bar is shown.
PROGRESS_BATCH = 16
#: ``create --wait`` looks up the events of at most this many failed sessions.
FAILURES_EXPLAINED = 10
#: Colours of statuses, where colour is allowed (a terminal, and no NO_COLOR).
STATUS_COLOURS = {"Running": "green", "Pending": "yellow", "Failed": "red", "Terminating": "yellow"}
#: Columns of ``canfar ps``.
PS_HEADERS = ("ID", "NAME", "KIND", "STATUS", "IMAGE", "STARTED")


# -- shared pieces -------------------------------------------------------------------------------


def _session(ctx: click.Context, backend: str | None = None) -> Session:
    """The Session a command uses: the group's ``--context``, the command's ``--backend``."""
    from canfar_core.sessions import Session

    obj = ctx.find_object(dict) or {}
    return Session(context=obj.get("context"), backend=backend)


def _complete_backends(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    try:
        from canfar_core.manager import get_manager

        names = get_manager().registry("backends").names()
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete)]


def _complete_kinds(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    try:
        from canfar_core.manager import get_manager

        names = get_manager().registry("session_kinds").names()
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete)]


def _complete_session_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Session ids from the active backend's listing, given up after a short timeout."""
    import threading

    from click.shell_completion import CompletionItem

    found: list[SessionInfo] = []
    root = ctx.find_root()
    context_name = root.params.get("context_name")
    backend = ctx.params.get("backend")

    def listing() -> None:
        try:
            from canfar_core.sessions import Session

            found.extend(Session(context=context_name, backend=backend).fetch())
        except Exception:  # completion never prints errors into the user's shell
            pass

    worker = threading.Thread(target=listing, daemon=True)
    worker.start()
    worker.join(COMPLETION_TIMEOUT)
    given = ctx.params.get(param.name or "") or ()
    given = {given} if isinstance(given, str) else set(given)
    return [
        CompletionItem(s.id, help=f"{s.name} ({s.status})")
        for s in list(found)
        if s.id.startswith(incomplete) and s.id not in given
    ]


def complete_context_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[str]:
    """Saved context names, for the group's ``--context``."""
    try:
        from canfar_core.contexts import LOCAL, saved_contexts

        names = [LOCAL, *(name for name in saved_contexts() if name != LOCAL)]
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete)]


def backend_option(func: F) -> F:
    return click.option(
        "--backend",
        metavar="NAME",
        shell_complete=_complete_backends,
        help="Use this backend (local, canfar, ...) instead of the active context's.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print as JSON (stable keys).")(
        func
    )


def quiet_option(func: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Print only ids, one per line.")(func)


def _one_format(as_json: bool, quiet: bool) -> None:
    if as_json and quiet:
        raise click.UsageError("--json and --quiet cannot be used together")


def _interrupted(ctx: click.Context, message: str) -> None:
    """Say what is still going on after Ctrl-C, and exit 130."""
    click.echo(message, err=True)
    ctx.exit(EXIT_INTERRUPTED)


def _write_raw(text: str) -> None:
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


def _ps_rows(sessions: Iterable[SessionInfo]) -> list[tuple[Any, ...]]:
    return [(s.id, s.name, s.kind, s.status, s.image, s.start_time or "-") for s in sessions]


def _dicts(records: Iterable[Any]) -> list[dict[str, Any]]:
    from canfar_core.models import to_dict

    return [to_dict(record) for record in records]


def _report_results(
    results: dict[str, str | None], verb: str, as_json: bool, what: str = "sessions"
) -> None:
    """Print what a delete or renew did: done ids on stdout, each failure on stderr, exit 1 if
    any failed. JSON: a list of ``{"id", "ok", "error"}``."""
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
        info(f"{verb.capitalize()} {done} {what if done != 1 else what.rstrip('s')}.")
    for sid, reason in failed.items():
        click.echo(f"Error: {sid}: {reason}", err=True)
    if failed:
        raise CanfarError(f"{len(failed)} of {len(results)} {what} could not be {verb}")


def _destroy(session: Session, ids: list[str]) -> dict[str, str | None]:
    """Delete sessions; with many on a terminal, in batches under a progress bar on stderr."""
    if len(ids) < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return session.destroy(ids)
    results: dict[str, str | None] = {}
    with click.progressbar(length=len(ids), label="Deleting", file=sys.stderr) as bar:
        for start in range(0, len(ids), PROGRESS_BATCH):
            batch = ids[start : start + PROGRESS_BATCH]
            results.update(session.destroy(batch))
            bar.update(len(batch))
    return results


# -- create --------------------------------------------------------------------------------------


def split_command_line(
    command: click.Command, ctx: click.Context, args: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Split ``create``'s arguments into canfar's part and the user's command.

    canfar's options may come anywhere before the command. The command starts after ``--``, or
    at the first word after KIND and IMAGE; from there on every word is the user's, even words
    that look like canfar options (``python -c 4`` keeps its ``-c``).
    """
    takes_value: set[str] = set()
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            takes_value.update(param.opts)
    positionals = 0
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return list(args[:index]), list(args[index + 1 :])
        if word.startswith("--"):
            if "=" not in word and word in takes_value:
                index += 1  # the option's value, whatever it looks like
        elif word.startswith("-") and len(word) > 1:
            for position in range(1, len(word)):  # a cluster such as -qr 3 or -r3
                if f"-{word[position]}" in takes_value:
                    if position == len(word) - 1:
                        index += 1
                    break
        else:
            positionals += 1
            if positionals == 3:
                return list(args[:index]), list(args[index:])
        index += 1
    return list(args), []


class CreateCommand(click.Command):
    """``create``: options anywhere before the user's command, which is never parsed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        head, tail = split_command_line(self, ctx, args)
        rest = super().parse_args(ctx, head)
        ctx.params["command"] = tail
        return rest

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[--] [CMD [ARGS]...]"]


class _WaitProgress:
    """The ``create --wait`` progress line on stderr: rewritten on a terminal, else one line per
    change."""

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


def _launched(spec: SessionSpec, ids: list[str], failures: dict[int, str]) -> list[dict[str, Any]]:
    """Each launched session with its replica number and name, in replica order."""
    replicas = [k for k in range(1, spec.replicas + 1) if k not in failures]
    if len(replicas) != len(ids):  # a backend that did not keep replica order: names unknown
        return [{"id": sid, "name": None, "replica": None} for sid in ids]
    return [
        {"id": sid, "name": spec.replica_name(k), "replica": k}
        for sid, k in zip(ids, replicas, strict=True)
    ]


@click.command(cls=CreateCommand, short_help="Launch sessions of one kind from an image.")
@click.argument("kind", shell_complete=_complete_kinds)
@click.argument("image")
@click.option("-n", "--name", metavar="NAME", help="Session name (replicas get NAME-1, NAME-2...).")
@click.option(
    "-r", "--replicas", type=int, default=1, metavar="N", show_default=True, help="How many copies."
)
@click.option("-c", "--cores", type=float, metavar="N", help="CPU cores per session.")
@click.option("-m", "--ram", type=float, metavar="GB", help="Memory per session, in GB.")
@click.option("-g", "--gpus", type=int, metavar="N", help="GPUs per session.")
@click.option(
    "-e", "--env", "env_pairs", multiple=True, metavar="K=V", help="Environment variable (repeat)."
)
@click.option("--runtime", metavar="NAME", help="Local backend: the container runtime to use.")
@click.option(
    "-w", "--wait", is_flag=True, help="Wait until every replica is Running or has ended."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop --wait after this long.",
)
@backend_option
@json_option
@quiet_option
@click.pass_context
def create(
    ctx: click.Context,
    kind: str,
    image: str,
    name: str | None,
    replicas: int,
    cores: float | None,
    ram: float | None,
    gpus: int | None,
    env_pairs: tuple[str, ...],
    runtime: str | None,
    wait: bool,
    timeout: float | None,
    backend: str | None,
    as_json: bool,
    quiet: bool,
    command: list[str],
) -> None:
    """Launch sessions: KIND (headless, notebook, ...) from IMAGE.

    Everything after IMAGE that is not a canfar option is the command a headless session runs,
    passed word for word (put `--` before it to be explicit):

    \b
      canfar create headless skaha/astroml:latest --replicas 10 -- python fit.py --all
      canfar create headless skaha/astroml:latest python -c 'print(4)'
      canfar create notebook skaha/astroml:latest --cores 2 --ram 8

    Each replica gets REPLICA_ID (1..N) and REPLICA_COUNT in its environment.
    """
    from canfar_core.errors import LaunchError
    from canfar_core.output import echo, emit_json, info, table
    from canfar_core.sessions import WaitTimeout
    from canfar_core.validation import check_name, parse_env_pairs

    _one_format(as_json, quiet)
    if not kind.strip():
        raise ValidationError("a session kind is required (for example headless)")
    if name is not None:  # an empty --name is a slip, not a request for a made-up name
        check_name(name)
    env = parse_env_pairs(env_pairs)
    session = _session(ctx, backend)
    options = {"runtime": runtime} if runtime else {}
    spec = session.build_spec(
        image=image,
        name=name,
        kind=kind,
        cores=cores,
        ram=ram,
        gpus=gpus,
        cmd=command[0] if command else None,
        args=command[1:],
        env=env,
        replicas=replicas,
        **options,
    )
    failures: dict[int, str] = {}
    try:
        ids = session.launch(spec)
    except LaunchError as exc:
        ids, failures = list(exc.ids), dict(exc.failures)
    launched = _launched(spec, ids, failures)
    if not as_json and not quiet and ids and not failures:
        where = session.context.name
        if spec.backend != where:
            where += f" ({spec.backend})"
        plural = "s" if len(ids) != 1 else ""
        info(f"Launched {len(ids)} {spec.kind} session{plural} on {where}.")

    states: dict[str, SessionInfo] = {}
    gave_up: CanfarError | None = None
    if wait and ids and not failures:
        try:
            states = _wait_for(ctx, session, ids, timeout)
        except WaitTimeout as exc:  # still print the ids and the states last seen
            states, gave_up = exc.sessions, exc
    for entry in launched:
        state = states.get(entry["id"])
        entry["status"] = state.status if state else None
        entry["exit_code"] = state.exit_code if state else None

    if as_json:
        emit_json(
            {
                "context": session.context.name,
                "backend": spec.backend,
                "kind": spec.kind,
                "image": spec.image,
                "name": spec.name,
                "sessions": launched,
                "failures": [
                    {"replica": k, "name": spec.replica_name(k), "reason": reason}
                    for k, reason in sorted(failures.items())
                ],
            }
        )
    elif quiet:
        for entry in launched:
            echo(entry["id"])
    elif launched:
        columns = ["ID", "NAME", *(["STATUS"] if states else [])]
        table(
            [(e["id"], e["name"] or "-", *([e["status"]] if states else [])) for e in launched],
            headers=columns,
        )
    if failures:
        for k, reason in sorted(failures.items()):
            click.echo(f"Error: replica {k} ({spec.replica_name(k)}) failed: {reason}", err=True)
        kept = f"; the {len(ids)} launched keep running" if ids else ""
        raise CanfarError(f"{len(failures)} of {spec.replicas} replicas failed to launch{kept}")
    failed = [s for s in states.values() if s.status == "Failed"]
    for number, state in enumerate(failed):
        why = _why_failed(session, state, look=number < FAILURES_EXPLAINED)
        click.echo(f"Error: {state.id} ({state.name}) failed: {why}", err=True)
    if gave_up is not None:
        raise gave_up
    if failed:
        raise CanfarError(f"{len(failed)} of {len(ids)} sessions failed")


def _why_failed(session: Session, state: SessionInfo, look: bool) -> str:
    """The exit code and the last scheduling event of a failed session, as far as known."""
    parts = [] if state.exit_code is None else [f"exit code {state.exit_code}"]
    reason = state.extra.get("reason")
    if isinstance(reason, str) and reason and reason not in parts:
        parts.append(reason)
    if look:
        with contextlib.suppress(CanfarError):
            lines = [line.strip() for line in session.events(state.id).splitlines()]
            lines = [line for line in lines if line and line != "<none>"]
            if lines:
                parts.append(lines[-1])
    parts.append(f"see: canfar logs {state.id}; canfar events {state.id}")
    return "; ".join(parts)


def _wait_for(
    ctx: click.Context, session: Session, ids: list[str], timeout: float | None
) -> dict[str, SessionInfo]:
    from canfar_core.models import ACTIVE_STATUSES

    progress = _WaitProgress()
    try:
        return session.wait(ids, timeout=timeout, progress=progress, poll=1.0)
    except KeyboardInterrupt:
        progress.done()
        still = [
            sid
            for sid in ids
            if sid not in progress.current or progress.current[sid].status in ACTIVE_STATUSES
        ]
        _interrupted(
            ctx,
            f"Interrupted: {len(still)} of {len(ids)} sessions are still pending or running "
            f"and keep going: {' '.join(still)}\nStop them with: canfar delete {' '.join(still)}",
        )
        raise  # not reached: _interrupted exits
    finally:
        progress.done()


# -- looking -------------------------------------------------------------------------------------


@click.command(short_help="List your sessions.")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include finished sessions.")
@click.option(
    "-k",
    "--kind",
    shell_complete=_complete_kinds,
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

    _one_format(as_json, quiet)
    if watch is not None and (as_json or quiet):
        raise click.UsageError("--watch cannot be combined with --json or --quiet")
    session = _session(ctx, backend)

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
            emit_json(_dicts(sessions))
        elif quiet:
            for s in sessions:
                echo(s.id)
        elif sessions:
            table(_ps_rows(sessions), headers=PS_HEADERS)
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
                table(_ps_rows(last), headers=PS_HEADERS)
            else:
                info(empty_note())
            if not sys.stdout.isatty():
                echo()
            sys.stdout.flush()
            time.sleep(watch)
    except KeyboardInterrupt:
        active = [s for s in last if s.status in ACTIVE_STATUSES]
        _interrupted(ctx, f"Stopped watching; {len(active)} session(s) still pending or running.")


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


INFO_WIDTH = 16


def _info_lines(state: SessionInfo) -> list[tuple[str, str]]:
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
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=_complete_session_ids
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
    session = _session(ctx, backend)
    found: list[SessionInfo] = []
    missing: list[str] = []
    for sid in checked:
        try:
            found.append(session.info(sid))
        except NotFound as exc:
            missing.append(sid)
            click.echo(f"Error: {exc}", err=True)
    if as_json:
        emit_json(_dicts(found))
    else:
        for number, state in enumerate(found):
            if number:
                echo()
            for label, value in _info_lines(state):
                if label == "status":
                    value = style(value, fg=STATUS_COLOURS.get(value))
                echo(f"{label + ':':<{INFO_WIDTH}} {value}")
    if missing:  # each was named on its own line above
        ctx.exit(EXIT_ERROR)


@click.command(short_help="Show a session's scheduling events.")
@click.argument("session_id", metavar="ID", shell_complete=_complete_session_ids)
@backend_option
@json_option
@click.pass_context
def events(ctx: click.Context, session_id: str, backend: str | None, as_json: bool) -> None:
    """Show a session's scheduling events (why it is pending, why it failed)."""
    from canfar_core.output import emit_json

    text = _session(ctx, backend).events(session_id)
    if as_json:
        emit_json({"id": session_id, "events": text})
    else:
        _write_raw(text if not text or text.endswith("\n") else text + "\n")


@click.command()
@click.argument("session_id", metavar="ID", shell_complete=_complete_session_ids)
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
    session = _session(ctx, backend)
    if not follow:
        text = session.logs(session_id)
        if as_json:
            emit_json({"id": session_id, "logs": text})
        else:
            _write_raw(text)
        return
    try:
        for chunk in session.follow_logs(session_id):
            _write_raw(chunk)
    except KeyboardInterrupt:
        state = "still running"
        with contextlib.suppress(Exception):  # a courtesy note; never fail the interrupt on it
            state = f"still {session.info(session_id).status}"
        _interrupted(ctx, f"Stopped following; session {session_id} is {state}.")


def _browser_available() -> bool:
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
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=_complete_session_ids
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

    session = _session(ctx, backend)
    kinds = session.kinds()
    problems: list[str] = []
    opened: list[dict[str, str]] = []
    browser = not no_browser and not as_json and _browser_available()
    for sid in check_ids(ids):
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
            click.echo(f"Error: {exc}", err=True)
            problems.append(sid)
            continue
        opened.append({"id": sid, "url": url})
        if not as_json:
            echo(url)
        if browser:
            webbrowser.open(url, new=2)
    if as_json:
        emit_json(opened)
    if problems:
        raise CanfarError(f"{len(problems)} of {len(ids)} sessions could not be opened")


# -- ending --------------------------------------------------------------------------------------


@click.command()
@click.argument(
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=_complete_session_ids
)
@backend_option
@json_option
@click.pass_context
def delete(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Delete sessions (running ones are stopped). Prints the ids deleted.

    \b
      canfar ps -q --status Failed | xargs canfar delete
    """
    from canfar_core.sessions import check_ids

    checked = check_ids(ids)
    session = _session(ctx, backend)
    _report_results(_destroy(session, checked), "deleted", as_json)


@click.command(short_help="Delete finished sessions, by name prefix.")
@click.argument("prefix", required=False)
@click.option(
    "-k",
    "--kind",
    shell_complete=_complete_kinds,
    default="headless",
    show_default=True,
    help="Only sessions of this kind.",
)
@click.option(
    "-s",
    "--status",
    "statuses",
    multiple=True,
    default=("Completed",),
    show_default=True,
    help="Only sessions in this status (repeat for several).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@backend_option
@json_option
@click.pass_context
def prune(
    ctx: click.Context,
    prefix: str | None,
    kind: str,
    statuses: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    backend: str | None,
    as_json: bool,
) -> None:
    """Delete the sessions whose name starts with PREFIX: by default finished headless ones.

    \b
      canfar prune galaxy-batch --dry-run
      canfar prune --status Failed --yes
    """
    from canfar_core.output import emit_json, info, table

    session = _session(ctx, backend)
    found = session.matching(prefix=prefix, kind=kind, status=list(statuses))
    if not found:
        if as_json:
            emit_json([])
        named = f" named {prefix}*" if prefix else ""
        info(f"Nothing to prune: no {'/'.join(statuses)} {kind} sessions{named}.")
        return
    if dry_run:
        if as_json:
            emit_json(_dicts(found))
        else:
            table(_ps_rows(found), headers=PS_HEADERS)
            info(f"{len(found)} session(s) would be deleted (dry run: nothing was).")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise ValidationError(
                f"refusing to delete {len(found)} sessions without confirmation: add --yes"
            )
        table(_ps_rows(found), headers=PS_HEADERS)
        if not click.confirm(f"Delete these {len(found)} sessions?", err=True):
            info("Nothing was deleted.")
            return
    _report_results(_destroy(session, [s.id for s in found]), "deleted", as_json)


@click.command()
@click.argument(
    "ids", nargs=-1, required=True, metavar="ID...", shell_complete=_complete_session_ids
)
@backend_option
@json_option
@click.pass_context
def renew(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Extend the lifetime of interactive sessions."""
    from canfar_core.sessions import check_ids

    checked = check_ids(ids)
    _report_results(_session(ctx, backend).renew(checked), "renewed", as_json)


# -- the platform --------------------------------------------------------------------------------


#: Rows of ``canfar stats``: label and field.
STATS_ROWS = (
    ("cores requested", "cores_requested"),
    ("cores available", "cores_available"),
    ("RAM requested (GB)", "ram_requested_gb"),
    ("RAM available (GB)", "ram_available_gb"),
    ("sessions running", "sessions_running"),
)


@click.command()
@backend_option
@json_option
@click.pass_context
def stats(ctx: click.Context, backend: str | None, as_json: bool) -> None:
    """Show cores and memory in use and available."""
    from canfar_core.models import to_dict
    from canfar_core.output import emit_json, table

    result = _session(ctx, backend).stats()
    if as_json:
        emit_json(to_dict(result))
        return
    rows = [
        (label, f"{value:g}" if isinstance(value, float) else value)
        for label, attr in STATS_ROWS
        if (value := getattr(result, attr)) is not None
    ]
    rows.extend(
        (str(key), value)
        for key, value in result.extra.items()
        if not isinstance(value, (dict, list))
    )
    table(rows, headers=["", "VALUE"])


@click.command()
@click.option(
    "-k",
    "--kind",
    shell_complete=_complete_kinds,
    metavar="KIND",
    help="Only images built for this session kind.",
)
@backend_option
@json_option
@quiet_option
@click.pass_context
def images(
    ctx: click.Context, kind: str | None, backend: str | None, as_json: bool, quiet: bool
) -> None:
    """List the images sessions can run."""
    from canfar_core.output import echo, emit_json, info, table

    _one_format(as_json, quiet)
    found = _session(ctx, backend).images(kind=kind)
    if as_json:
        emit_json(_dicts(found))
    elif quiet:
        for image in found:
            echo(image.id)
    elif found:
        table([(i.id, ", ".join(i.types)) for i in found], headers=["IMAGE", "KINDS"])
    else:
        info("No images" + (f" for {kind} sessions." if kind else "."))


@click.command(short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL; session ids complete from `canfar ps`.

    \b
      bash:  eval "$(canfar completion bash)"            (in ~/.bashrc)
      zsh:   eval "$(canfar completion zsh)"             (in ~/.zshrc)
      fish:  canfar completion fish > ~/.config/fish/completions/canfar.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows the three shells offered
        raise ValidationError(f"no completion for shell '{shell}'")
    root = ctx.find_root().command
    click.echo(cls(root, {}, "canfar", "_CANFAR_COMPLETE").source())


COMMANDS: tuple[click.Command, ...] = (
    create,
    ps,
    info,
    events,
    logs,
    open_,
    delete,
    prune,
    renew,
    stats,
    images,
    completion,
)


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    for command in COMMANDS:
        if cli.commands.get(command.name or "") is command:  # already added (main() run again)
            continue
        cli.add_command(command)
    for param in cli.params:
        if param.name == "context_name" and getattr(param, "_custom_shell_complete", 1) is None:
            param._custom_shell_complete = complete_context_names
