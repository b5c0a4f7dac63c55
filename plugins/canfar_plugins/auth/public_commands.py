"""The public client's names for the auth commands: ``canfar login``, ``canfar auth show|ls|use|
rm|purge`` and ``canfar server ls|use``. Each is this project's command under another name (hidden
from the command lists; each command's help names its aliases), or a thin layer over it."""

from __future__ import annotations

import copy
import sys
from typing import TYPE_CHECKING, Any

import click

from canfar_core.errors import NotFound, ValidationError, hide_url_passwords
from canfar_plugins._support.machine import output_option
from canfar_plugins.auth.commands import (
    _stderr,
    auth,
    context_rows,
    forget,
    list_contexts,
    login,
    status,
    switch,
)

if TYPE_CHECKING:
    from canfar_core.contexts import Context


def alias(command: click.Command, name: str) -> click.Command:
    """``command`` under another name, left out of the command list."""
    twin = copy.copy(command)
    twin.name = name
    twin.hidden = True
    return twin


@click.command("rm", hidden=True)
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Remove the active context without asking.")
def auth_rm(name: str, force: bool) -> None:
    """Forget the context NAME and its credentials (= canfar auth logout NAME).

    Removing the active one asks first, unless --force; without a terminal to ask on it is
    refused (exit 2)."""
    from canfar_plugins.auth.store import active_name

    if name == active_name() and not force:
        if not sys.stdin.isatty():
            raise ValidationError(
                f"'{name}' is the active context; add --force to remove it without a terminal"
            )
        if not click.confirm(f"'{name}' is the active context. Remove it?", err=True):
            _stderr("Nothing was removed.")
            return
    forget([name])


@click.command("purge", hidden=True)
@click.option("--force", is_flag=True, help="Required: every saved login is removed.")
def auth_purge(force: bool) -> None:
    """Forget every saved context and its credentials (= canfar auth logout --all)."""
    from canfar_plugins.auth.store import saved_names

    if not force:
        raise ValidationError("this removes every saved login: add --force to do it")
    names = saved_names()
    if not names:
        _stderr("No saved logins; sessions run on this machine.")
        return
    forget(names)


def server_record(context: Context, active: bool) -> dict[str, Any]:
    """A server context as ``server ls -o json`` prints it: the public client's keys (``name``,
    ``uri``, ``url``, ``version``, ``auths``, ``idp``, ``storage``, ``resources``), then
    ``active``."""
    return {
        "name": context.name,
        "uri": context.options.get("uri"),
        "url": hide_url_passwords(context.url) if context.url else None,
        "version": "v1",
        "auths": [context.auth] if context.auth else [],
        "idp": context.name,
        "storage": {},
        "resources": None,
        "active": active,
    }


@click.group("server", hidden=True)
def server() -> None:
    """The servers you are logged in to (saved contexts): canfar server ls, canfar server use."""


@server.command("ls")
@output_option
def server_ls(output: str | None) -> None:
    """The servers you are logged in to; without any, the servers the registries offer."""
    from canfar_core.output import info, table
    from canfar_plugins._support.machine import emit

    rows = [(c, active) for c, active in context_rows() if c.backend != "local"]
    if not rows:
        from canfar_core.contexts import Context
        from canfar_plugins.auth.commands import _discover

        found = [
            Context(name=s.name, backend="canfar", url=s.url, auth=s.auth, source="discovered")
            for s in _discover()
        ]
        rows = [(c, False) for c in found]
        if not output:
            info("Not logged in to any server; these are offered (log in: canfar auth login NAME).")
    if output:
        emit([server_record(c, active) for c, active in rows], output)
        return
    table(
        [
            ("*" if active else "", c.name, hide_url_passwords(c.url or ""), c.auth or "")
            for c, active in rows
        ],
        headers=["", "NAME", "URL", "AUTH"],
    )


@server.command("use")
@click.argument("selector")
@click.pass_context
def server_use(ctx: click.Context, selector: str) -> None:
    """Make the saved server SELECTOR (its name or URL) the one commands use."""
    chosen = selector
    names = {c.name: c for c, _ in context_rows() if c.backend != "local"}
    if selector not in names:
        by_url = [
            c.name for c in names.values() if (c.url or "").rstrip("/") == selector.rstrip("/")
        ]
        if not by_url:
            known = ", ".join(names) or "none: log in with canfar auth login"
            raise NotFound(f"no saved server '{selector}' (known: {known})")
        chosen = by_url[0]
    ctx.invoke(switch, name=chosen)


#: The public names that are this project's commands under another name.
login_alias = alias(login, "login")
auth_show = alias(status, "show")
auth_ls = alias(list_contexts, "ls")
auth_use = alias(switch, "use")


def register(cli: click.Group) -> None:
    """Add the public names to ``auth`` and to the top-level group."""
    for command in (auth_show, auth_ls, auth_use, auth_rm, auth_purge):
        if command.name not in auth.commands:
            auth.add_command(command)
    if "login" not in cli.commands:
        cli.add_command(login_alias, "login")
    if "server" not in cli.commands:
        cli.add_command(server)
