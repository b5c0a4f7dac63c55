"""Built-in plugin: ``canfar data``, files on any storage a plugin registers.

Operands are ``IDENTIFIER:/PATH`` (``arc:/projects/x/table.csv``) or a path on this machine.
Every command works on any fsspec filesystem through :mod:`canfar.storage`, so a storage added
by ``canfar_register_storage`` needs nothing here.

The package is imported at start-up to list its commands, so this module imports click and
nothing else of its own: the commands (``listing``, ``reading``, ``changing``, indexed by
``commands``), the copy engine (``copying``) and fsspec load only when ``canfar data`` runs.
"""

from __future__ import annotations

import click

from canfar_core import hookimpl

#: The subcommands, in the order of ``canfar data --help``, and their one-line help.
SUBCOMMANDS = {
    "ls": "List a folder.",
    "stat": "Show a file's or folder's details.",
    "du": "Show how many bytes a path holds.",
    "find": "List every file under a folder.",
    "tree": "Show a folder as a tree.",
    "cat": "Write files to standard output.",
    "head": "Show the first lines of a file.",
    "tail": "Show the last lines of a file.",
    "cp": "Copy files, in either direction or between two storages.",
    "mv": "Move files.",
    "mkdir": "Make folders.",
    "rm": "Remove files (and folders, with -r).",
    "rmdir": "Remove empty folders.",
    "test": "Exit 0 when a path exists (or is a file, or a folder).",
}


class DataGroup(click.Group):
    """Lists the subcommands without importing them; loads them when one is first asked for
    (to run it, or for its help or the command reference)."""

    _loaded = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS and not self._loaded:
            self._load()
        return super().get_command(ctx, cmd_name)

    def _load(self) -> None:
        from canfar_plugins.data_commands import commands

        self._loaded = True
        # Options the core gave this group for every subcommand (a hidden ``--debug`` that may
        # follow the command), given to the subcommands it could not see then.
        inherited = [p for p in self.params if getattr(p, "hidden", False) and not p.expose_value]
        for name in SUBCOMMANDS:
            command: click.Command = getattr(commands, f"{name}_command")
            known = {param.name for param in command.params}
            command.params.extend(p for p in inherited if p.name not in known)
            self.add_command(command)


@click.group(
    cls=DataGroup,
    short_help="Copy, list and remove files on any storage.",
    epilog=(
        "Name a path IDENTIFIER:/PATH (arc:/home/USER/table.csv); anything else is a path on "
        "this machine. `canfar data ls` with no path lists the identifiers."
    ),
)
def data() -> None:
    """Files on the platform's storage, this machine, or any storage a plugin adds."""


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    if cli.commands.get("data") is not data:
        cli.add_command(data)
