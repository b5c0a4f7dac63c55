"""Built-in plugin: the root logging options, ``canfar --log-level LEVEL``, ``-v``/``-vv`` and
``--log-file FILE`` (with ``CANFAR_LOGLEVEL`` read when none of them, nor ``--debug``, decides).

They are added to the ``canfar`` group itself. Logging is configured once the three have been
read (each option's callback runs exactly once per command line, the last of them after
``--debug``), and only when something asks for it; a ``--debug`` given after the command lowers
the level through the door the core leaves in ``ctx.meta`` (``canfar_core.cli.DEBUG_LOGGING``).
"""

from __future__ import annotations

from typing import Any

import click

from canfar_core import hookimpl

_SEEN = "canfar.logging_options"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    seen = ctx.meta.setdefault(_SEEN, {})
    seen[param.name] = value
    if len(seen) < len(OPTIONS) or ctx.resilient_parsing:
        return
    from canfar_core.cli import DEBUG_LOGGING
    from canfar_plugins._support.logs import choose_level, configure_logging, lower_level_to

    ctx.meta[DEBUG_LOGGING] = lambda: lower_level_to("debug")
    debug = bool(ctx.params.get("debug"))
    level = choose_level(seen["log_level"], seen["verbosity"], debug)
    if level is not None or seen["log_file"] is not None:
        configure_logging(level, seen["log_file"])


OPTIONS = (
    click.Option(
        ["--log-level"],
        metavar="LEVEL",
        expose_value=False,
        callback=_remember,
        help="Log at LEVEL: debug, info, warning, error or critical (default: $CANFAR_LOGLEVEL).",
    ),
    click.Option(
        ["-v", "--verbose", "verbosity"],
        count=True,
        expose_value=False,
        callback=_remember,
        help="Log more: -v info, -vv debug.",
    ),
    click.Option(
        ["--log-file"],
        metavar="FILE",
        expose_value=False,
        callback=_remember,
        help="Also write the log to FILE, one JSON object per line.",
    ),
)


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    for option in OPTIONS:
        if option not in cli.params:
            cli.params.append(option)
