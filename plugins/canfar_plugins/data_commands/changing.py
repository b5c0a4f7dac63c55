"""``cp``, ``mv``, ``mkdir``, ``rm`` and ``rmdir``: what changes files."""

from __future__ import annotations

import posixpath
from typing import Any

import click

from canfar_core.errors import CanfarError, ValidationError
from canfar_core.output import info, printable
from canfar_plugins.data_commands.common import PATH, command_help, details_of
from canfar_plugins.data_commands.targets import Resolver, Target, is_dir, reported


def _copy(sources: tuple[str, ...], recursive: bool, jobs: int) -> tuple[Any, Any]:
    from canfar_plugins.data_commands import copying

    if len(sources) < 2:
        raise ValidationError("give a SOURCE and a DESTINATION")
    resolve = Resolver()
    *srcs, dest = map(resolve, sources)
    work = copying.plan(srcs, dest, recursive)
    outcome = copying.Outcome()
    try:
        copying.run(work, jobs=jobs, outcome=outcome)
    except KeyboardInterrupt:
        arrived = len(outcome.copied) + len(outcome.skipped)
        info(
            f"Interrupted: {arrived} of {len(work.jobs)} files are complete at the destination, "
            f"{len(work.jobs) - arrived} are not (no partial file was kept); run the same "
            "command again to copy the rest."
        )
        raise
    _report(outcome)
    return work, outcome


def _report(outcome: Any) -> None:
    from canfar_plugins.data_commands.copying import human

    done = outcome.copied
    size = human(sum(job.size for job in done))
    line = f"Copied {len(done)} file{'s' if len(done) != 1 else ''} ({size})"
    if outcome.skipped:
        line += f"; {len(outcome.skipped)} already complete"
    info(line + ".")
    if not outcome.failed:
        return
    for error in outcome.failed.values():
        info(f"Error: {error}")
    first = next(iter(outcome.failed.values()))
    missing = len(outcome.failed) + len(outcome.not_started)
    raise CanfarError(
        f"{missing} file{'s' if missing != 1 else ''} not copied (first: {first.message})",
        hint="run the same command again to copy only what is missing",
    )


JOBS = click.option(
    "-j", "--jobs", default=4, show_default=True, type=click.IntRange(min=1, max=64),
    help="Files copied at once.",
)  # fmt: skip


@click.command(**command_help("cp"))
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE... DESTINATION")
@click.option("-r", "--recursive", is_flag=True, help="Copy folders and what they hold.")
@JOBS
def cp_command(sources: tuple[str, ...], recursive: bool, jobs: int) -> None:
    """Copy files, in either direction or between two storages.

    A file arrives as NAME.part and is renamed once its size (and checksum, where the storage
    publishes one) is verified. Running an interrupted copy again copies only what is missing.

    \b
      canfar data cp results.fits arc:/home/USER/
      canfar data cp -r arc:/projects/survey/night1 ./night1
    """
    _copy(sources, recursive, jobs)


@click.command(**command_help("mv"))
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE... DESTINATION")
@JOBS
def mv_command(sources: tuple[str, ...], jobs: int) -> None:
    """Move files or folders; across storages, a verified copy and then a removal."""
    if len(sources) < 2:
        raise ValidationError("give a SOURCE and a DESTINATION")
    resolve = Resolver()
    *srcs, dest = map(resolve, sources)
    if all(src.operand.identifier == dest.operand.identifier for src in srcs):
        into = _is_folder(dest) or dest.path.endswith("/")
        if len(srcs) > 1 and not into:
            raise ValidationError(f"{dest.label}: is not a folder (moving several paths)")
        for src in srcs:
            details_of(src)
            target = dest.child(src.basename()) if into else dest
            with reported(src.label):
                src.fs.mv(src.path, target.path, recursive=True)
        return
    _copy(sources, True, jobs)
    for src in srcs:
        with reported(src.label):
            src.fs.rm(src.path, recursive=True)


def _is_folder(target: Target) -> bool:
    try:
        return is_dir(details_of(target))
    except CanfarError:
        return False


@click.command(**command_help("mkdir"))
@PATH
@click.option(
    "-p", "--parents", is_flag=True, help="Make parent folders too; no error if it exists."
)
def mkdir_command(paths: tuple[str, ...], parents: bool) -> None:
    """Make folders; with -p, their parents too, and no error when one exists."""
    resolve = Resolver()
    for target in map(resolve, paths):
        with reported(target.label):
            if parents:
                target.fs.makedirs(target.path, exist_ok=True)
                continue
            if target.fs.exists(target.path):
                raise FileExistsError(target.path)
            parent = posixpath.dirname(target.path.rstrip("/")) or "/"
            if not target.fs.isdir(parent):
                raise CanfarError(f"{target.label}: its folder does not exist", hint="add -p")
            target.fs.mkdir(target.path, create_parents=False)


@click.command(**command_help("rm"))
@PATH
@click.option("-r", "--recursive", is_flag=True, help="Remove folders and what they hold.")
@click.option("-f", "--force", is_flag=True, help="Do not ask first.")
def rm_command(paths: tuple[str, ...], recursive: bool, force: bool) -> None:
    """Remove files, and folders with -r.

    It asks first, reading the answer from standard input (echo y | canfar data rm ...); at
    the end of the input nothing is removed and the exit code is 2: add --force.
    """
    resolve = Resolver()
    targets = list(map(resolve, paths))
    for target in targets:
        if is_dir(details_of(target)) and not recursive:
            raise ValidationError(f"{target.label}: is a folder", hint="add -r to remove it")
    if not force:
        shown = (
            " ".join(t.label for t in targets) if len(targets) <= 10 else f"{len(targets)} paths"
        )
        from canfar_plugins._support.confirm import ask_yes_no

        answer = ask_yes_no(
            f"Remove {printable(shown)}{' and all they hold' if recursive else ''}?"
        )
        if answer is None:
            raise ValidationError(
                "nothing was removed: no answer was read; add --force to remove without being asked"
            )
        if not answer:
            info("Nothing was removed.")
            return
    for target in targets:
        with reported(target.label):
            target.fs.rm(target.path, recursive=recursive)


@click.command(**command_help("rmdir"))
@PATH
def rmdir_command(paths: tuple[str, ...]) -> None:
    """Remove empty folders."""
    resolve = Resolver()
    for target in map(resolve, paths):
        if not is_dir(details_of(target)):
            raise ValidationError(f"{target.label}: is not a folder", hint="use: canfar data rm")
        with reported(target.label):
            if target.fs.ls(target.path, detail=False):
                raise CanfarError(
                    f"{target.label}: the folder is not empty", hint="use: canfar data rm -r"
                )
            target.fs.rmdir(target.path)
