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

from collections.abc import Mapping
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
