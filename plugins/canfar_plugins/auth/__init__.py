"""Built-in plugin: auth providers (``token``, ``x509``, ``oidc``) and the ``canfar auth`` commands.

Light at import: the providers load when the auth-provider registry is first used, the HTTP
stack only when a provider talks to a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canfar_core import hookimpl

if TYPE_CHECKING:
    import click

    from canfar_core.models import Register


@hookimpl
def canfar_register_auth_providers(register: Register) -> None:
    from canfar_plugins.auth.bearer import TokenProvider
    from canfar_plugins.auth.oidc import OIDCProvider
    from canfar_plugins.auth.x509 import X509Provider

    register("token", TokenProvider())
    register("x509", X509Provider())
    register("oidc", OIDCProvider())


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    from canfar_plugins.auth.commands import auth
    from canfar_plugins.auth.public_commands import register

    cli.add_command(auth)
    register(cli)
