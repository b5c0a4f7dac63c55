"""What an auth provider is: the object that puts a context's credentials on HTTP requests.

A plugin registers providers through ``canfar_register_auth_providers``::

    @hookimpl
    def canfar_register_auth_providers(register):
        register("kerberos", KerberosProvider())

A context's ``auth`` field names its provider. Before a backend sends anything it calls
:meth:`AuthProvider.check` (expired credentials fail there, with the command that renews them),
then :meth:`AuthProvider.apply` on its HTTP session. ``canfar auth status`` shows
:meth:`AuthProvider.status`; ``canfar auth login`` calls :meth:`AuthProvider.login` and saves the
secrets it returns with :meth:`~canfar_core.contexts.Context.save_credentials`.

Secrets travel only in the ``credentials`` mapping (the credentials file, mode 0600, or the
environment); never in a context's options, never on a command line, never printed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from canfar_core.errors import ValidationError

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_core.models import AuthStatus

Credentials = Mapping[str, Any]


@runtime_checkable
class AuthProvider(Protocol):
    """The methods every auth provider has."""

    #: The name contexts use for this provider (``token``, ``x509``, ``oidc``, ...).
    name: str

    def apply(self, http: Any, context: Context, credentials: Credentials) -> None:
        """Attach the credentials to ``http`` (a ``requests.Session``): a header, a client
        certificate... A provider whose credentials can be refreshed does so here."""

    def check(self, context: Context, credentials: Credentials) -> None:
        """Raise :class:`~canfar_core.errors.AuthError` when the credentials are missing or
        expired; its message names the exact command that fixes it."""

    def status(self, context: Context, credentials: Credentials) -> AuthStatus:
        """Who the credentials are for and until when, without contacting the server."""

    def login(self, context: Context, **options: Any) -> dict[str, Any]:
        """Obtain credentials (prompting if it must) and return the secrets to save.

        May also fill ``context.options`` with settings that are not secret (a certificate
        path, an issuer URL); the caller saves both.
        """


def get_provider(name: str) -> AuthProvider:
    """The provider registered as ``name``; an unknown name is an error listing the known ones."""
    from canfar_core.manager import get_manager

    provider: AuthProvider = get_manager().registry("auth_providers").get(name)
    return provider


def mask(secret: str | None) -> str:
    """A secret as it may be shown: its first four characters at most, the rest hidden."""
    if not secret:
        return ""
    shown = 4 if len(secret) >= 16 else 0
    return secret[:shown] + "…" + f"({len(secret)} characters)"


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JSON Web Token, read without checking its signature; ``{}`` when the
    token is not a JWT. Only for display and expiry: the server decides what is valid."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def claims_user(claims: Mapping[str, Any]) -> str | None:
    """The user a token is for, from its usual claims."""
    for key in ("preferred_username", "username", "name", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def claims_expiry(claims: Mapping[str, Any]) -> datetime | None:
    """A token's ``exp`` claim as an aware UTC datetime."""
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        try:
            return datetime.fromtimestamp(float(exp), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def iso(moment: datetime | None) -> str | None:
    """``2026-01-05T14:03:27Z`` (UTC, whole seconds), or ``None``."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def check_token(token: str, origin: str) -> None:
    """Refuse a bearer token that an HTTP header cannot carry, without showing it.

    ``origin`` names where it came from (``CANFAR_TOKEN``, ``the token given``...). A token file
    wrapped at 64 columns and read with ``"$(cat FILE)"`` holds line breaks: sent, it would fail
    with an error quoting the whole token.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ValidationError(
            f"{origin} holds line breaks, spaces or control characters, so it cannot be "
            "sent (it is not shown here); give the token on one line, for example "
            "\"$(tr -d '\\n' < FILE)\""
        )


#: Key of a context's container-registry login (``{"username": ..., "secret": ...}``) in its
#: credentials, for backends that launch private images.
REGISTRY_LOGIN = "registry"


def check_registry_login(username: str, secret: str | None = None) -> None:
    """Refuse a container-registry login that cannot be carried as ``username:secret``.

    Registries and the CANFAR service take the login as base64 of ``username:secret`` with
    exactly one ``:`` (for CANFAR, in the ``X-Skaha-Registry-Auth`` header), so neither part
    may hold one. The secret is never named in the message.
    """
    if not username:
        raise ValidationError("the registry username must not be empty")
    if ":" in username:
        raise ValidationError(
            f"registry username '{username}' contains ':'; the platform receives the login as "
            "username:secret, so a username with ':' cannot be used"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in username):
        raise ValidationError(
            f"registry username {username!r} contains a space or control character"
        )
    if secret is None:
        return
    if not secret:
        raise ValidationError("the registry secret is empty; nothing was saved")
    if ":" in secret:
        raise ValidationError(
            "the registry secret contains ':'; the platform receives the login as "
            "username:secret and cannot carry it (nothing was saved)"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in secret):
        raise ValidationError(
            "the registry secret contains a space, a line break or a control character; "
            "give it on one line (nothing was saved)"
        )
