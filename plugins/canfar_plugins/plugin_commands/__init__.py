"""Built-in plugin: ``canfar plugins install`` and ``canfar plugins uninstall``.

They install plugin packages into the environment canfar runs from (``pipx inject`` under pipx,
the pip of canfar's own interpreter otherwise), where a ``pip install`` typed in the user's shell
often does not go. The listing, ``canfar plugins`` itself, is the core's.
"""

from __future__ import annotations

import click

from canfar_core import hookimpl


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    from canfar_plugins.plugin_commands.commands import install, uninstall

    group = cli.commands.get("plugins")
    if isinstance(group, click.Group):
        group.add_command(install)
        group.add_command(uninstall)
