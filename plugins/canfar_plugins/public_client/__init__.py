"""Built-in plugin: a login made with the platform's public ``canfar`` client is used here.

That client keeps its login in ``~/.canfar/config.yaml``. When nothing chooses where sessions
run (no saved active context, nothing in the environment), this plugin answers
``canfar_default_context``: it imports that login as a saved context, or refuses a broken one
with the command that fixes it, so that a user of the public client never sees their jobs run
quietly on their own machine. With no such file it answers nothing, and sessions run locally.
It also adds the public client's ``canfar version``.

This module is imported at start-up; the reading (and PyYAML) is imported only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canfar_core import hookimpl

if TYPE_CHECKING:
    import click

    from canfar_core.contexts import Context


@hookimpl
def canfar_default_context() -> Context | None:
    from canfar_plugins.public_client.login import import_public_login, read_public_login

    login = read_public_login()
    return None if login is None else import_public_login(login)


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    from canfar_plugins.public_client.commands import version

    cli.add_command(version)
