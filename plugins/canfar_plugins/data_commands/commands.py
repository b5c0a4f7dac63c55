"""The ``canfar data`` subcommands, by module: ``listing`` (what is where), ``reading`` (a
file's bytes), ``changing`` (copies, moves, folders, removal); ``copying`` is the copy engine.

Data goes to stdout, messages to stderr. Exit codes: 0 done, 1 a storage failure (one line
naming the path and the fix), 2 bad operands, 130 interrupted; ``test`` exits 1 for "no".
"""

from __future__ import annotations

from canfar_plugins.data_commands.changing import (
    cp_command,
    mkdir_command,
    mv_command,
    rm_command,
    rmdir_command,
)
from canfar_plugins.data_commands.listing import (
    du_command,
    find_command,
    ls_command,
    stat_command,
    test_command,
    tree_command,
)
from canfar_plugins.data_commands.reading import cat_command, head_command, tail_command

__all__ = [
    "cat_command",
    "cp_command",
    "du_command",
    "find_command",
    "head_command",
    "ls_command",
    "mkdir_command",
    "mv_command",
    "rm_command",
    "rmdir_command",
    "stat_command",
    "tail_command",
    "test_command",
    "tree_command",
]
