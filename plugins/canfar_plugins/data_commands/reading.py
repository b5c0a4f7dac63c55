"""``cat``, ``head`` and ``tail``: a file's bytes on standard output, streamed."""

from __future__ import annotations

import sys
from typing import Any

import click

from canfar_plugins.data_commands.common import (
    PATH,
    TEXT_CHUNK,
    command_help,
    details_of,
    must_be_file,
)
from canfar_plugins.data_commands.targets import Resolver, reported


@click.command(**command_help("cat"))
@PATH
def cat_command(paths: tuple[str, ...]) -> None:
    """Write the files to standard output, streamed."""
    resolve = Resolver()
    out = sys.stdout.buffer
    for target in map(must_be_file, map(resolve, paths)):
        with reported(target.label), target.fs.open(target.path, "rb") as stream:
            while block := stream.read(TEXT_CHUNK):
                out.write(block)
    out.flush()


LINES = click.option("-n", "--lines", default=10, show_default=True, type=click.IntRange(min=0))
BYTES = click.option(
    "-c", "--bytes", "count", type=click.IntRange(min=0), help="Bytes instead of lines."
)


@click.command(**command_help("head"))
@click.argument("path", metavar="PATH")
@LINES
@BYTES
def head_command(path: str, lines: int, count: int | None) -> None:
    """Show the first lines (or bytes, with -c) of a file."""
    target = must_be_file(Resolver()(path))
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


@click.command(**command_help("tail"))
@click.argument("path", metavar="PATH")
@LINES
@BYTES
def tail_command(path: str, lines: int, count: int | None) -> None:
    """Show the last lines (or bytes, with -c) of a file, read from its end."""
    target = must_be_file(Resolver()(path))
    size = int(details_of(target).get("size") or 0)
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
