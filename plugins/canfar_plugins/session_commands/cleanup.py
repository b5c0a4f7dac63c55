"""Ending sessions, or keeping them: ``canfar delete``, ``prune`` and ``renew``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from canfar_core.errors import EXIT_ERROR, ValidationError
from canfar_plugins.session_commands.common import (
    PS_HEADERS,
    backend_option,
    ids_argument,
    ids_or_none_argument,
    interrupted,
    json_option,
    nothing_given,
    platform_dicts,
    ps_rows,
    reasons,
    report_failure,
    report_results,
    session_for,
)
from canfar_plugins.session_commands.completion import complete_kinds

if TYPE_CHECKING:
    from canfar.sessions import Session

#: Deleting at least this many sessions on a terminal shows a progress bar.
PROGRESS_THRESHOLD = 10
#: How many sessions one backend call deletes while a progress bar is shown.
PROGRESS_BATCH = 16


def destroy(session: Session, ids: list[str]) -> dict[str, str | None]:
    """Delete sessions; with many on a terminal, in batches under a progress bar on stderr.

    Ctrl-C stops at once and says which sessions were deleted, which may or may not have been
    (their request was under way) and which were not touched; exit 130."""
    from canfar_core.concurrency import Interrupted

    results: dict[str, str | None] = {}
    try:
        if len(ids) < PROGRESS_THRESHOLD or not sys.stderr.isatty():
            return reasons(session.destroy, ids)
        with click.progressbar(length=len(ids), label="Deleting", file=sys.stderr) as bar:
            for start in range(0, len(ids), PROGRESS_BATCH):
                batch = ids[start : start + PROGRESS_BATCH]
                results.update(reasons(session.destroy, batch))
                bar.update(len(batch))
        return results
    except Interrupted as stop:
        for sid, _, error in stop.done:
            results[sid] = None if error is None else str(error)
        under_way = [str(sid) for sid in stop.running]
        report_interrupted_delete(ids, results, under_way)
        raise  # not reached


def report_interrupted_delete(
    ids: list[str], results: dict[str, str | None], under_way: list[str]
) -> None:
    """After Ctrl-C in a delete: what was deleted, what may have been, what was not; exit 130."""
    deleted = [sid for sid in ids if sid in results and results[sid] is None]
    failed = [sid for sid in ids if results.get(sid) is not None]
    untouched = [sid for sid in ids if sid not in results and sid not in under_way]
    lines = ["Interrupted."]
    if deleted:
        lines.append(f"Deleted {len(deleted)}: {' '.join(deleted)}")
    if failed:
        lines.append(f"Failed {len(failed)}: {' '.join(failed)}")
    if under_way:
        lines.append(
            f"May or may not be deleted ({len(under_way)}, their request was under way): "
            f"{' '.join(under_way)}"
        )
    if untouched:
        lines.append(f"Not deleted ({len(untouched)}, never sent): {' '.join(untouched)}")
    if under_way or untouched:
        lines.append("Check with: canfar ps")
    interrupted(click.get_current_context(), "\n".join(lines))


@click.command()
@ids_or_none_argument
@click.option(
    "-a",
    "--all",
    "every_active",
    is_flag=True,
    help="Every pending or running session, and any still terminating (nothing to do is not "
    "an error).",
)
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@backend_option
@json_option
@click.pass_context
def delete(
    ctx: click.Context,
    ids: tuple[str, ...],
    every_active: bool,
    force: bool,
    backend: str | None,
    as_json: bool,
) -> None:
    """Delete sessions (running ones are stopped). Prints the ids deleted.

    Each ID is first looked for: one that names no session is said so (exit 1) and never sent.
    Then it asks, reading the answer from standard input (`echo y | canfar delete ID` answers
    it); with no answer to read, nothing is deleted and the exit code is 2: add --force. With
    --all, every pending or running session of the context. When there is nothing to delete
    (no session running, or no ID: `canfar delete $(canfar ps -q)`), it says so and exits 0.

    \b
      canfar delete ID ID
      canfar delete --all --force
      canfar ps -q --status Failed | xargs -r canfar delete --force
    """
    from canfar_core.models import LIVE_STATUSES
    from canfar_core.output import emit_json, info
    from canfar_core.validation import check_ids

    if every_active and ids:
        raise click.UsageError("give session ids or --all, not both")
    if not every_active and not ids:
        nothing_given("delete", as_json)
        info("(canfar delete --all deletes every pending or running session.)")
        return
    session = session_for(ctx, backend)
    if every_active:
        checked = [s.id for s in session.fetch(status=LIVE_STATUSES)]
        if not checked:
            if as_json:
                emit_json([])
            info(f"Nothing to delete: no pending or running sessions on {session.context.name}.")
            return
    else:
        checked = check_ids(ids)
    unknown = unknown_ids(session, checked) if not every_active else {}
    if unknown and not force:  # said before anything is asked
        for sid, reason in unknown.items():
            report_failure(sid, reason)
    known = [sid for sid in checked if sid not in unknown]
    if known and not confirm_delete(known, force):
        if unknown:
            ctx.exit(EXIT_ERROR)
        return
    deleted = destroy(session, known) if known else {}
    results = {sid: deleted[sid] if sid in deleted else unknown[sid] for sid in checked}
    report_results(ctx, results, "deleted", as_json, reported=set(unknown) if not force else ())


def unknown_ids(session: Session, ids: list[str]) -> dict[str, str]:
    """The ids of no session, with the backend's reason: the platform accepts a DELETE of any
    id, so a mistyped one would be reported deleted while the session meant runs on.

    One listing answers for most ids; an id it does not hold is asked about on its own, and is
    unknown only when the backend says it has no such session. A record the listing skips (a
    damaged one) or an id the backend deletes but does not show (a Slurm job's whole array) is
    left for the delete to handle."""
    from canfar_core.errors import NotFound, SessionRequestError, ValidationError

    listed = {s.id for s in session.fetch()}
    unknown: dict[str, str] = {}
    for sid in (sid for sid in ids if sid not in listed):
        try:
            session.info(sid, errors="raise")
        except SessionRequestError as exc:
            error = dict(exc.errors).get(sid)  # type: ignore[call-overload]
            if isinstance(error, NotFound):
                unknown[sid] = str(error)
        except ValidationError:
            pass  # not a session id to this backend, but it may still delete it
    return unknown


def confirm_delete(ids: list[str], force: bool) -> bool:
    """Whether to go ahead: yes with --force; else the answer read from standard input, as
    ``click.confirm`` reads it (a terminal is not required: ``echo y | canfar delete ID``).
    At the end of the input, nothing is deleted (a usage error naming --force)."""
    from canfar_core.output import info

    if force:
        return True
    shown = " ".join(ids) if len(ids) <= 10 else f"{len(ids)} sessions"
    from canfar_plugins._support.confirm import ask_yes_no

    answer = ask_yes_no(f"Delete {shown}?")
    if answer is None:
        plural = "s" if len(ids) != 1 else ""
        raise ValidationError(
            f"nothing was deleted: no answer was read; add --force to delete {len(ids)} "
            f"session{plural} without being asked"
        )
    if not answer:
        info("Nothing was deleted.")
    return answer


def _one_of(word: str | None, option: object, what: str) -> None:
    if word is not None and option:
        raise click.UsageError(f"give the {what} once: as an argument or as --{what}")


@click.command(short_help="Delete finished sessions, by name prefix.")
@click.argument("prefix", required=False)
@click.argument("kind_word", metavar="[KIND]", required=False, shell_complete=complete_kinds)
@click.argument("status_word", metavar="[STATUS]", required=False)
@click.option(
    "-k",
    "--kind",
    shell_complete=complete_kinds,
    help="Only sessions of this kind (default: headless).",
)
@click.option(
    "-s",
    "--status",
    "statuses",
    multiple=True,
    help="Only sessions in this status; repeat for several (default: Completed).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--kept",
    is_flag=True,
    help="Also remove the copies kept here of sessions the platform has forgotten.",
)
@click.option("-y", "--yes", is_flag=True, help="Accepted and ignored: prune never asks.")
@backend_option
@json_option
@click.pass_context
def prune(
    ctx: click.Context,
    prefix: str | None,
    kind_word: str | None,
    status_word: str | None,
    kind: str | None,
    statuses: tuple[str, ...],
    dry_run: bool,
    kept: bool,
    yes: bool,
    backend: str | None,
    as_json: bool,
) -> None:
    """Delete the sessions whose name starts with PREFIX: by default finished headless ones.

    It deletes what matches without asking (--dry-run lists it instead). KIND and STATUS may
    follow PREFIX (as --kind and --status do); Succeeded means Completed. A PREFIX holding
    regular-expression characters (. * ? [ ...) is a regular expression searched in the name
    (anchor it with ^): quote it. Case is ignored: the platform keeps names in lower case.

    \b
      canfar prune galaxy-batch --dry-run
      canfar prune run headless Succeeded
      canfar prune '^fit-(3|7)$' headless Failed
      canfar prune --status Failed
    """
    from canfar_core.output import emit_json, info, table
    from canfar_core.public_names import canonical_status

    _one_of(kind_word, kind, "kind")
    _one_of(status_word, statuses, "status")
    kind = kind_word or kind or "headless"
    chosen = [status_word] if status_word is not None else list(statuses) or ["Completed"]
    wanted = list(dict.fromkeys(canonical_status(s) for s in chosen))
    session = session_for(ctx, backend)
    found = [s for s in session.fetch(kind, wanted, name=prefix) if kept or not s.kept]
    if not found:
        if as_json:
            emit_json([])
        named = f" named {prefix}*" if prefix else ""
        info(f"Nothing to prune: no {'/'.join(wanted)} {kind} sessions{named}.")
        return
    if dry_run:
        if as_json:
            emit_json(platform_dicts(found))
        else:
            table(ps_rows(found), headers=PS_HEADERS)
            info(f"{len(found)} session(s) would be deleted (dry run: nothing was).")
        return
    report_results(ctx, destroy(session, [s.id for s in found]), "deleted", as_json)


@click.command()
@ids_argument
@backend_option
@json_option
@click.pass_context
def renew(ctx: click.Context, ids: tuple[str, ...], backend: str | None, as_json: bool) -> None:
    """Extend the lifetime of interactive sessions."""
    from canfar_core.validation import check_ids

    checked = check_ids(ids)
    report_results(ctx, reasons(session_for(ctx, backend).renew, checked), "renewed", as_json)
