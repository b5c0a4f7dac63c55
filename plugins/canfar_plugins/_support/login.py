"""The command that logs in again, named in the errors of auth providers and backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canfar_core.contexts import Context


def login_command(context: Context) -> str:
    """The command that logs in to ``context`` again, for error messages."""
    if context.source == "environment":
        return "set CANFAR_TOKEN to a valid token"
    if context.source == "login":
        return "check the credentials and try again"
    if context.source != "config":
        return "pass a valid token"
    if context.auth == "token" and context.url:
        return f"canfar auth login --url {context.url} --token-stdin --name {context.name}"
    return f"canfar auth login {context.name}"
