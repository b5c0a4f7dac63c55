"""Built-in plugin: ``canfar plugins`` (the listing), ``canfar plugins install`` and
``canfar plugins uninstall``.

They install plugin packages into the environment canfar runs from (``pipx inject`` under pipx,
the pip of canfar's own interpreter otherwise), where a ``pip install`` typed in the user's shell
often does not go.
"""

from __future__ import annotations

import click

from canfar_core import hookimpl


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    from canfar_plugins.plugin_commands.commands import install, uninstall
    from canfar_plugins.plugin_commands.listing import plugins

    plugins.add_command(install)
    plugins.add_command(uninstall)
    cli.add_command(plugins)
