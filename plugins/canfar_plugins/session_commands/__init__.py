"""Built-in plugin: the session commands (create, wait, ps, info, events, logs, open, delete,
prune, renew, stats, images, completion).

Every command is a thin layer over :class:`canfar.sessions.Session`, the same code path as
the Python API. Output rules: data on stdout (a table, ``--json`` or bare ids with ``-q``),
messages and errors on stderr (one ``Error:`` line per session that failed); exit 0 on success,
1 on a runtime failure, 2 on bad input, 130 when interrupted.

The package is imported at start-up to list its commands, so at module level its modules import
only click and the light core modules; the session API, tabulate and json are imported inside
the commands. One module per job: ``launch`` (create), ``waiting`` (wait, and create --wait),
``show`` (ps, info, events, logs, open), ``cleanup`` (delete, prune, renew), ``platform`` (stats,
images), ``completion`` (the completion command and the completers), ``common`` (what they
share).
"""

from __future__ import annotations

import click

from canfar_core import hookimpl
from canfar_plugins.session_commands.cleanup import delete, prune, renew
from canfar_plugins.session_commands.completion import complete_context_names, completion
from canfar_plugins.session_commands.create_options import add_plugin_options
from canfar_plugins.session_commands.launch import create
from canfar_plugins.session_commands.platform import feedback, image, images, stats
from canfar_plugins.session_commands.show import events, info, logs, open_, ps
from canfar_plugins.session_commands.waiting import wait

COMMANDS: tuple[click.Command, ...] = (
    create,
    wait,
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
    image,
    feedback,
)


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    for command in COMMANDS:
        if cli.commands.get(command.name or "") is command:  # already added (main() run again)
            continue
        cli.add_command(command)
    add_plugin_options(create)
    for param in cli.params:
        if param.name == "context_name" and getattr(param, "_custom_shell_complete", 1) is None:
            param._custom_shell_complete = complete_context_names
