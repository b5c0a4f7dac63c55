"""What the ``canfar data`` subcommands share: the operand argument, a path's details."""

from __future__ import annotations

from typing import Any

import click

from canfar_core.errors import ValidationError
from canfar_plugins.data_commands import SUBCOMMANDS
from canfar_plugins.data_commands.targets import Target, is_dir, reported

PATH = click.argument("paths", nargs=-1, required=True, metavar="PATH...")
TEXT_CHUNK = 1024 * 1024


def command_help(name: str) -> dict[str, Any]:
    """A subcommand's name and its one-line help, as ``canfar data --help`` lists it."""
    return {"name": name, "short_help": SUBCOMMANDS[name]}


def details_of(target: Target) -> dict[str, Any]:
    """fsspec's details of a path (``name``, ``type``, ``size``, ...); a failure is one line."""
    with reported(target.label):
        return dict(target.fs.info(target.path))


def must_be_file(target: Target) -> Target:
    """``target``, when it is not a folder (a usage error otherwise)."""
    if is_dir(details_of(target)):
        raise ValidationError(f"{target.label}: is a folder", hint="list it with: canfar data ls")
    return target
