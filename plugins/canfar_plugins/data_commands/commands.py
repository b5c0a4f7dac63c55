"""The ``canfar data`` subcommands: thin layers over fsspec and :mod:`copying`.

Data goes to stdout, messages to stderr. Exit codes: 0 done, 1 a storage failure (one line
naming the path and the fix), 2 bad operands, 130 interrupted; ``test`` exits 1 for "no".
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import click

from canfar_core.errors import CanfarError, NotFound, ValidationError
from canfar_core.output import echo, emit_json, info, printable, table
from canfar_plugins.data_commands import SUBCOMMANDS
from canfar_plugins.data_commands.targets import Resolver, Target, is_dir, relative, reported

PATH = click.argument("paths", nargs=-1, required=True, metavar="PATH...")
TEXT_CHUNK = 1024 * 1024


def _help(name: str) -> dict[str, Any]:
    return {"name": name, "short_help": SUBCOMMANDS[name]}


def _details(target: Target) -> dict[str, Any]:
    with reported(target.label):
        return dict(target.fs.info(target.path))


def _modified(details: dict[str, Any]) -> str | None:
    for key in ("mtime", "modified", "last_modified", "LastModified", "created"):
        value = details.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds")
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat(timespec="seconds")
        return str(value)
    return None


def _record(details: dict[str, Any], label: str | None = None) -> dict[str, Any]:
    name = str(details.get("name", "")).rstrip("/")
    return {
        "name": posixpath.basename(name) or name,
        "path": label or name,
        "type": "folder" if is_dir(details) else "file",
        "size": details.get("size"),
        "modified": _modified(details),
    }


def _listing(target: Target) -> list[dict[str, Any]]:
    details = _details(target)
    if not is_dir(details):
        return [_record(details, target.label)]
    with reported(target.label):
        entries = target.fs.ls(target.path, detail=True)
    records = [_record(entry) for entry in entries]
    return sorted((r for r in records if r["name"]), key=lambda r: r["name"])


@click.command(**_help("ls"))
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("-l", "long", is_flag=True, help="Show type, size and time too.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def ls_command(paths: tuple[str, ...], long: bool, as_json: bool) -> None:
    """List folders (and files). With no PATH, list the storage identifiers."""
    resolve = Resolver()
    if not paths:
        if as_json:
            emit_json(resolve.known)
        else:
            for name in resolve.known:
                echo(f"{name}:")
        return
    listings = [(target, _listing(target)) for target in map(resolve, paths)]
    if as_json:
        emit_json([r for _, records in listings for r in records])
        return
    for n, (target, records) in enumerate(listings):
        if len(listings) > 1:
            echo(("\n" if n else "") + f"{printable(target.label)}:")
        if long:
            rows = [
                ("d" if r["type"] == "folder" else "-", r["size"], r["modified"], r["name"])
                for r in records
            ]
            table(rows, headers=["type", "size", "modified", "name"])
        else:
            for r in records:
                echo(printable(r["name"] + ("/" if r["type"] == "folder" else "")))


@click.command(**_help("stat"))
@PATH
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def stat_command(paths: tuple[str, ...], as_json: bool) -> None:
    """Show the type, size, time and published checksum of each PATH."""
    from canfar_plugins.data_commands.copying import published_checksum

    resolve = Resolver()
    found = []
    for target in map(resolve, paths):
        details = _details(target)
        record = _record(details, target.label)
        record["md5"] = published_checksum(details)
        found.append(record)
    if as_json:
        emit_json(found)
        return
    for n, record in enumerate(found):
        if n:
            echo()
        for key, value in record.items():
            if value is not None:
                echo(f"{key}: {printable(str(value))}")


@click.command(**_help("du"))
@PATH
@click.option("-H", "--human", "human_sizes", is_flag=True, help="Sizes in KiB, MiB, GiB.")
def du_command(paths: tuple[str, ...], human_sizes: bool) -> None:
    """Show the bytes each PATH holds, folders counted with all they hold."""
    from canfar_plugins.data_commands.copying import human

    resolve = Resolver()
    for target in map(resolve, paths):
        _details(target)  # a missing path is an error, not 0 bytes
        with reported(target.label):
            size = int(target.fs.du(target.path, total=True))
        echo(f"{human(size) if human_sizes else size}\t{printable(target.label)}")


def _walk(target: Target, kind: str | None, name: str | None) -> Iterator[str]:
    import fnmatch

    details = _details(target)
    if not is_dir(details):
        yield target.label
        return
    root = str(details["name"])
    with reported(target.label):
        entries = target.fs.find(target.path, withdirs=True, detail=True)
    for key in sorted(entries):
        entry = entries[key]
        inside = relative(str(entry["name"]), root)
        if inside == ".":
            continue
        if kind and (kind == "d") != is_dir(entry):
            continue
        if name and not fnmatch.fnmatchcase(posixpath.basename(inside), name):
            continue
        yield target.child(inside).label


@click.command(**_help("find"))
@PATH
@click.option("--name", "pattern", help="Only names matching this glob (*.fits).")
@click.option("--type", "kind", type=click.Choice(["f", "d"]), help="Only files or folders.")
def find_command(paths: tuple[str, ...], pattern: str | None, kind: str | None) -> None:
    """List every file and folder under each PATH, one operand per line."""
    resolve = Resolver()
    for target in map(resolve, paths):
        for label in _walk(target, kind, pattern):
            echo(printable(label))


@click.command(**_help("tree"))
@click.argument("path", metavar="PATH")
@click.option("-L", "--depth", type=click.IntRange(min=1), help="Descend at most this deep.")
def tree_command(path: str, depth: int | None) -> None:
    """Show the folder PATH and all it holds as a tree."""
    target = Resolver()(path)
    details = _details(target)
    echo(printable(target.label))
    if not is_dir(details):
        return
    root = str(details["name"])
    with reported(target.label):
        entries = target.fs.find(target.path, withdirs=True, detail=True, maxdepth=depth)
    children: dict[str, list[tuple[str, bool]]] = {}
    for entry in entries.values():
        inside = relative(str(entry["name"]), root)
        if inside != ".":
            parent, name = posixpath.split(inside)
            children.setdefault(parent, []).append((name, is_dir(entry)))
    counts = [0, 0]

    def draw(folder: str, prefix: str) -> None:
        items = sorted(children.get(folder, []))
        for n, (name, folder_like) in enumerate(items):
            last = n == len(items) - 1
            echo(
                f"{prefix}{'└── ' if last else '├── '}{printable(name)}{'/' if folder_like else ''}"
            )
            counts[folder_like] += 1
            if folder_like:
                draw(
                    posixpath.join(folder, name) if folder else name,
                    prefix + ("    " if last else "│   "),
                )

    draw("", "")
    echo(f"\n{counts[1]} folders, {counts[0]} files")


def _file(target: Target) -> Target:
    if is_dir(_details(target)):
        raise ValidationError(f"{target.label}: is a folder", hint="list it with: canfar data ls")
    return target


@click.command(**_help("cat"))
@PATH
def cat_command(paths: tuple[str, ...]) -> None:
    """Write the files to standard output, streamed."""
    resolve = Resolver()
    out = sys.stdout.buffer
    for target in map(_file, map(resolve, paths)):
        with reported(target.label), target.fs.open(target.path, "rb") as stream:
            while block := stream.read(TEXT_CHUNK):
                out.write(block)
    out.flush()


LINES = click.option("-n", "--lines", default=10, show_default=True, type=click.IntRange(min=0))
BYTES = click.option(
    "-c", "--bytes", "count", type=click.IntRange(min=0), help="Bytes instead of lines."
)


@click.command(**_help("head"))
@click.argument("path", metavar="PATH")
@LINES
@BYTES
def head_command(path: str, lines: int, count: int | None) -> None:
    """Show the first lines (or bytes, with -c) of a file."""
    target = _file(Resolver()(path))
    out = sys.stdout.buffer
    with reported(target.label), target.fs.open(target.path, "rb") as stream:
        if count is not None:
            out.write(stream.read(count))
        else:
            for _ in range(lines):
                line = stream.readline()
                if not line:
                    break
                out.write(line)
    out.flush()


@click.command(**_help("tail"))
@click.argument("path", metavar="PATH")
@LINES
@BYTES
def tail_command(path: str, lines: int, count: int | None) -> None:
    """Show the last lines (or bytes, with -c) of a file, read from its end."""
    target = _file(Resolver()(path))
    size = int(_details(target).get("size") or 0)
    out = sys.stdout.buffer
    with reported(target.label), target.fs.open(target.path, "rb") as stream:
        if count is not None:
            stream.seek(max(0, size - count))
            out.write(stream.read())
        else:
            out.write(_last_lines(stream, size, lines))
    out.flush()


def _last_lines(stream: Any, size: int, lines: int) -> bytes:
    """The last ``lines`` lines, reading back from the end in doubling blocks."""
    if lines == 0:
        return b""
    block = 64 * 1024
    while True:
        start = max(0, size - block)
        stream.seek(start)
        data = stream.read(size - start)
        body = data[:-1] if data.endswith(b"\n") else data
        if body.count(b"\n") >= lines or start == 0:
            break
        block *= 2
    kept = body.split(b"\n")[-lines:]
    return b"\n".join(kept) + (b"\n" if data.endswith(b"\n") else b"")


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


@click.command(**_help("cp"))
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


@click.command(**_help("mv"))
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
            _details(src)
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
        return is_dir(_details(target))
    except CanfarError:
        return False


@click.command(**_help("mkdir"))
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


def ask_yes_no(question: str) -> bool | None:
    """Ask on stderr and read the answer from standard input: True for y/yes, False for n/no
    or an empty line, None at the end of the input; any other answer asks again."""
    while True:
        click.echo(f"{question} [y/N]: ", nl=False, err=True)
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            click.echo(err=True)
            return None
        word = line.strip().lower()
        if word in ("y", "yes"):
            return True
        if word in ("", "n", "no"):
            return False
        click.echo("Error: answer y or n.", err=True)


@click.command(**_help("rm"))
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
        if is_dir(_details(target)) and not recursive:
            raise ValidationError(f"{target.label}: is a folder", hint="add -r to remove it")
    if not force:
        shown = (
            " ".join(t.label for t in targets) if len(targets) <= 10 else f"{len(targets)} paths"
        )
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


@click.command(**_help("rmdir"))
@PATH
def rmdir_command(paths: tuple[str, ...]) -> None:
    """Remove empty folders."""
    resolve = Resolver()
    for target in map(resolve, paths):
        if not is_dir(_details(target)):
            raise ValidationError(f"{target.label}: is not a folder", hint="use: canfar data rm")
        with reported(target.label):
            if target.fs.ls(target.path, detail=False):
                raise CanfarError(
                    f"{target.label}: the folder is not empty", hint="use: canfar data rm -r"
                )
            target.fs.rmdir(target.path)


@click.command(**_help("test"))
@click.argument("path", metavar="PATH")
@click.option("-e", "what", flag_value="exists", default=True, help="PATH exists (the default).")
@click.option("-f", "what", flag_value="file", help="PATH is a file.")
@click.option("-d", "what", flag_value="folder", help="PATH is a folder.")
def test_command(path: str, what: str) -> None:
    """Exit 0 when PATH exists (-e), is a file (-f) or is a folder (-d), 1 when not; print nothing.

    \b
      canfar data test -d arc:/projects/survey || canfar data mkdir arc:/projects/survey
    """
    target = Resolver()(path)
    try:
        details = _details(target)
    except CanfarError as exc:
        if isinstance(exc, NotFound):
            sys.exit(1)
        raise
    answer = what == "exists" or (what == "folder") == is_dir(details)
    sys.exit(0 if answer else 1)
