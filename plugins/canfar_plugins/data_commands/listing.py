"""``ls``, ``stat``, ``du``, ``find``, ``tree`` and ``test``: what is where."""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import click

from canfar_core.errors import CanfarError, NotFound
from canfar_core.output import echo, printable, table
from canfar_plugins._support.machine import emit, output_option
from canfar_plugins.data_commands.common import PATH, command_help, details_of
from canfar_plugins.data_commands.targets import (
    Resolver,
    Target,
    folder_entries,
    is_dir,
    reported,
)


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
    details = details_of(target)
    if not is_dir(details):
        return [_record(details, target.label)]
    with reported(target.label):
        entries = target.fs.ls(target.path, detail=True)
    records = [_record(entry) for entry in entries]
    return sorted((r for r in records if r["name"]), key=lambda r: r["name"])


@click.command(**command_help("ls"))
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("-l", "long", is_flag=True, help="Show type, size and time too.")
@output_option
def ls_command(paths: tuple[str, ...], long: bool, output: str | None) -> None:
    """List folders (and files). With no PATH, list the storage identifiers.

    -o json|yaml (or --json) prints a list of objects: name, path, type, size, modified.
    """
    resolve = Resolver()
    if not paths:
        if output:
            emit(resolve.known, output)
        else:
            for name in resolve.known:
                echo(f"{name}:")
        return
    listings = [(target, _listing(target)) for target in map(resolve, paths)]
    if output:
        emit([r for _, records in listings for r in records], output)
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


@click.command(**command_help("stat"))
@PATH
@output_option
def stat_command(paths: tuple[str, ...], output: str | None) -> None:
    """Show the type, size, time and published checksum of each PATH.

    -o json|yaml (or --json) prints a list of objects, one per PATH, with ``md5`` too.
    """
    from canfar_plugins.data_commands.copying import published_checksum

    resolve = Resolver()
    found = []
    for target in map(resolve, paths):
        details = details_of(target)
        record = _record(details, target.label)
        record["md5"] = published_checksum(details)
        found.append(record)
    if output:
        emit(found, output)
        return
    for n, record in enumerate(found):
        if n:
            echo()
        for key, value in record.items():
            if value is not None:
                echo(f"{key}: {printable(str(value))}")


@click.command(**command_help("du"))
@PATH
@click.option("-H", "--human", "human_sizes", is_flag=True, help="Sizes in KiB, MiB, GiB.")
def du_command(paths: tuple[str, ...], human_sizes: bool) -> None:
    """Show the bytes each PATH holds, folders counted with all they hold."""
    from canfar_plugins.data_commands.copying import human

    resolve = Resolver()
    for target in map(resolve, paths):
        details_of(target)  # a missing path is an error, not 0 bytes
        with reported(target.label):
            size = int(target.fs.du(target.path, total=True))
        echo(f"{human(size) if human_sizes else size}\t{printable(target.label)}")


def _walk(target: Target, kind: str | None, name: str | None) -> Iterator[str]:
    import fnmatch

    details = details_of(target)
    if not is_dir(details):
        yield target.label
        return
    for inside, entry in folder_entries(target, details):
        if kind and (kind == "d") != is_dir(entry):
            continue
        if name and not fnmatch.fnmatchcase(posixpath.basename(inside), name):
            continue
        yield target.child(inside).label


@click.command(**command_help("find"))
@PATH
@click.option("--name", "pattern", help="Only names matching this glob (*.fits).")
@click.option("--type", "kind", type=click.Choice(["f", "d"]), help="Only files or folders.")
def find_command(paths: tuple[str, ...], pattern: str | None, kind: str | None) -> None:
    """List every file and folder under each PATH, one operand per line."""
    resolve = Resolver()
    for target in map(resolve, paths):
        for label in _walk(target, kind, pattern):
            echo(printable(label))


@click.command(**command_help("tree"))
@click.argument("path", metavar="PATH")
@click.option("-L", "--depth", type=click.IntRange(min=1), help="Descend at most this deep.")
def tree_command(path: str, depth: int | None) -> None:
    """Show the folder PATH and all it holds as a tree."""
    target = Resolver()(path)
    details = details_of(target)
    echo(printable(target.label))
    if not is_dir(details):
        return
    children: dict[str, list[tuple[str, bool]]] = {}
    for inside, entry in folder_entries(target, details, maxdepth=depth):
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


@click.command(**command_help("test"))
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
        details = details_of(target)
    except CanfarError as exc:
        if isinstance(exc, NotFound):
            sys.exit(1)
        raise
    answer = what == "exists" or (what == "folder") == is_dir(details)
    sys.exit(0 if answer else 1)
