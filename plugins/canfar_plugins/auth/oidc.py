"""The ``oidc`` auth provider: OAuth 2.0 device login (RFC 8628) for SRCNet-style servers.

``canfar auth login`` reads the issuer's ``.well-known/openid-configuration``, registers a
client once (the client id is saved and reused by every later login to the same issuer), asks
for a device code, tells the user where to enter it, and polls for tokens. The access token is
refreshed with the saved refresh token when it is within a minute of expiring; the refreshed
tokens are saved (mode 0600). One command refreshes at a time (providers may accept each
refresh token once); commands that waited use the tokens it saved. ``CANFAR_TOKEN`` overrides
the saved tokens.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from canfar_core.auth import (
    Credentials,
    claims_expiry,
    claims_user,
    iso,
    login_command,
    token_claims,
)
from canfar_core.errors import AuthError, ConnectionFailed, ServerError
from canfar_core.models import AuthStatus

if TYPE_CHECKING:
    from canfar_core.contexts import Context

DEFAULT_ISSUER = "https://ska-iam.stfc.ac.uk/"
DEFAULT_SCOPE = "openid profile offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Refresh an access token this many seconds before it expires.
REFRESH_MARGIN = 60.0
_TIMEOUT = (5.0, 30.0)


def _echo(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _request(
    method: str,
    url: str,
    *,
    data: Mapping[str, str] | None = None,
    json_body: Any = None,
    auth: tuple[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One request to the identity provider: ``(status, JSON object)``."""
    import requests

    from canfar_core import redirects

    host = url.split("/")[2] if "://" in url else url
    try:
        response = redirects.request(
            method,
            url,
            data=data,
            json=json_body,
            auth=auth,
            timeout=_TIMEOUT,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise ConnectionFailed(f"cannot reach the identity provider {host}: {exc}") from None
    if response.is_redirect:
        target = response.headers.get("Location", "")
        raise ServerError(
            f"the identity provider {host} answered {method} with a redirect (HTTP "
            f"{response.status_code} to {target[:80]}) that canfar does not follow",
            status=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        if response.status_code >= 400:
            raise ServerError(
                f"the identity provider {host} failed (HTTP {response.status_code})",
                status=response.status_code,
            ) from None
        raise ServerError(f"the identity provider {host} sent an answer that is not JSON") from None
    if not isinstance(body, dict):
        raise ServerError(f"the identity provider {host} sent an unexpected answer")
    return response.status_code, body


class OIDCProvider:
    """Device login, refresh, and ``Authorization: Bearer`` with a fresh access token."""

    name = "oidc"

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sleep = sleep
        self.clock = clock

    # -- settings --------------------------------------------------------------------------

    @staticmethod
    def issuer(context: Context, given: str | None = None) -> str:
        issuer = (
            given
            or context.options.get("issuer")
            or os.environ.get("CANFAR_OIDC_ISSUER")
            or DEFAULT_ISSUER
        )
        return str(issuer)

    @staticmethod
    def metadata(issuer: str) -> dict[str, Any]:
        """The issuer's OpenID configuration."""
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            status, body = _request("GET", url)
        except ConnectionFailed as exc:  # not reached: nothing is known about what it is
            raise ConnectionFailed(
                f"cannot reach the OpenID issuer {issuer}: {str(exc).split(': ', 1)[-1]}"
            ) from None
        except ServerError:
            status, body = 0, {}
        if status != 200 or "token_endpoint" not in body:
            raise AuthError(f"{issuer} is not an OpenID issuer (no configuration at {url})")
        return body

    # -- the provider protocol -------------------------------------------------------------

    def apply(self, http: Any, context: Context, credentials: Credentials) -> None:
        http.headers["Authorization"] = f"Bearer {self.access_token(context, credentials)}"

    def check(self, context: Context, credentials: Credentials) -> None:
        if credentials.get("token"):
            return
        if not credentials.get("access_token") and not credentials.get("refresh_token"):
            raise AuthError(f"not logged in to '{context.name}'; run: {login_command(context)}")
        if not credentials.get("refresh_token") and self._expired(credentials):
            raise AuthError(
                f"your login to '{context.name}' has expired; run: {login_command(context)}"
            )

    def status(self, context: Context, credentials: Credentials) -> AuthStatus:
        result = AuthStatus(context=context.name, server=context.url or "", auth=self.name)
        token = credentials.get("token") or credentials.get("access_token")
        if not token:
            result.valid = False
            result.detail = f"not logged in; run: {login_command(context)}"
            return result
        claims = token_claims(str(token))
        result.user = claims_user(claims)
        refresh = credentials.get("refresh_token")
        refresh_expiry = claims_expiry(token_claims(str(refresh))) if refresh else None
        if refresh and not credentials.get("token"):
            result.expires = iso(refresh_expiry)
            result.detail = f"access refreshed automatically (issuer {self.issuer(context)})"
            return result
        expires = claims_expiry(claims) or self._expires_at(credentials)
        result.expires = iso(expires)
        if expires is not None and expires <= datetime.now(timezone.utc):
            result.valid = False
            result.detail = f"expired; run: {login_command(context)}"
        return result

    def login(self, context: Context, **options: Any) -> dict[str, Any]:
        """Run the device flow; returns the tokens and client to save.

        Options: ``issuer``, ``client_id`` (use this registered client), ``echo`` (how to show
        the user the code), ``scope``.
        """
        echo: Callable[[str], None] = options.get("echo") or _echo
        issuer = self.issuer(context, options.get("issuer"))
        meta = self.metadata(issuer)
        device_endpoint = meta.get("device_authorization_endpoint")
        if not device_endpoint:
            raise AuthError(f"{issuer} offers no device login (device_authorization_endpoint)")
        scope = str(options.get("scope") or os.environ.get("CANFAR_OIDC_SCOPE") or DEFAULT_SCOPE)
        client = self.client(context, issuer, meta, options.get("client_id"), scope)
        auth = _client_auth(client)
        status, device = _request(
            "POST",
            device_endpoint,
            data={"client_id": client["client_id"], "scope": scope},
            auth=auth,
        )
        if status != 200 or "device_code" not in device:
            raise AuthError(f"{issuer} refused the device login: {_oauth_error(device, status)}")
        where = device.get("verification_uri_complete") or device.get("verification_uri")
        echo(f"To log in, open {where}")
        if not device.get("verification_uri_complete"):
            echo(f"and enter the code {device.get('user_code')}")
        echo("Waiting for you to approve the login...")
        tokens = self._poll(meta["token_endpoint"], device, client, issuer)
        context.options["issuer"] = issuer
        return self._secrets(tokens, client, issuer, meta["token_endpoint"], previous=None)

    # -- tokens ----------------------------------------------------------------------------

    def access_token(self, context: Context, credentials: Credentials) -> str:
        """A valid access token, refreshed (and saved) when near expiry."""
        if credentials.get("token"):
            return str(credentials["token"])
        if self._usable(credentials):
            return str(credentials["access_token"])
        if not credentials.get("refresh_token"):
            raise AuthError(
                f"your login to '{context.name}' has expired; run: {login_command(context)}"
            )
        return str(self._refresh_saved(context, credentials)["access_token"])

    def _usable(self, credentials: Credentials) -> bool:
        """Whether the access token is there and not within the margin of its expiry."""
        expires = self._expires_at(credentials)
        fresh = expires is None or expires.timestamp() - self.clock() > REFRESH_MARGIN
        return bool(credentials.get("access_token")) and fresh

    def _refresh_saved(self, context: Context, credentials: Credentials) -> Credentials:
        """Refresh and save, one command at a time.

        Providers that rotate refresh tokens accept each one once: commands run together
        after the access token expired would each send the same one, and all but the first
        would be refused. Under the credentials lock, a command that waited reads the tokens
        again and uses those another command has just saved.
        """
        if context.source != "config":  # nothing saved: nothing to share
            return self.refresh(context, credentials)
        from canfar_core import config

        with config.credentials_file().lock():
            latest = context.credentials()
            if self._usable(latest):
                return latest
            # The saved refresh token is the newest; none saved: the one given.
            renewed = self.refresh(context, latest if latest.get("refresh_token") else credentials)
            context.save_credentials(renewed)
        return renewed

    def refresh(self, context: Context, credentials: Credentials) -> dict[str, Any]:
        """New tokens from the refresh token; :class:`AuthError` when the login is over."""
        issuer = str(credentials.get("issuer") or self.issuer(context))
        endpoint = credentials.get("token_endpoint") or self.metadata(issuer)["token_endpoint"]
        client = {
            "client_id": credentials.get("client_id", ""),
            "client_secret": credentials.get("client_secret"),
        }
        status, body = _request(
            "POST",
            str(endpoint),
            data={
                "grant_type": "refresh_token",
                "refresh_token": str(credentials["refresh_token"]),
                "client_id": str(client["client_id"]),
            },
            auth=_client_auth(client),
        )
        if status != 200 or "access_token" not in body:
            raise AuthError(
                f"your login to '{context.name}' has expired ({_oauth_error(body, status)}); "
                f"run: {login_command(context)}"
            )
        return self._secrets(body, client, issuer, str(endpoint), previous=credentials)

    def _secrets(
        self,
        tokens: Mapping[str, Any],
        client: Mapping[str, Any],
        issuer: str,
        token_endpoint: str,
        previous: Credentials | None,
    ) -> dict[str, Any]:
        secrets: dict[str, Any] = dict(previous or {})
        secrets.update(
            issuer=issuer,
            token_endpoint=token_endpoint,
            client_id=client.get("client_id"),
            access_token=tokens["access_token"],
        )
        if client.get("client_secret"):
            secrets["client_secret"] = client["client_secret"]
        if tokens.get("refresh_token"):
            secrets["refresh_token"] = tokens["refresh_token"]
        expires_in = tokens.get("expires_in")
        exp = claims_expiry(token_claims(str(tokens["access_token"])))
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            secrets["expires_at"] = self.clock() + float(expires_in)
        elif exp is not None:
            secrets["expires_at"] = exp.timestamp()
        else:
            secrets.pop("expires_at", None)
        return secrets

    def _expires_at(self, credentials: Credentials) -> datetime | None:
        value = credentials.get("expires_at")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return claims_expiry(token_claims(str(credentials.get("access_token") or "")))

    def _expired(self, credentials: Credentials) -> bool:
        expires = self._expires_at(credentials)
        return expires is not None and expires.timestamp() <= self.clock()

    def _poll(
        self,
        endpoint: str,
        device: Mapping[str, Any],
        client: Mapping[str, Any],
        issuer: str,
    ) -> dict[str, Any]:
        interval = float(device.get("interval", 5))
        deadline = self.clock() + float(device.get("expires_in", 600))
        while True:
            self.sleep(interval)
            status, body = _request(
                "POST",
                endpoint,
                data={
                    "grant_type": DEVICE_GRANT,
                    "device_code": str(device["device_code"]),
                    "client_id": str(client["client_id"]),
                },
                auth=_client_auth(client),
            )
            if status == 200 and "access_token" in body:
                return body
            error = body.get("error")
            if error == "authorization_pending":
                pass
            elif error == "slow_down":
                interval += 5
            elif error == "access_denied":
                raise AuthError("the login was refused at the identity provider")
            elif error == "expired_token":
                raise AuthError("the login code expired before it was approved; log in again")
            else:
                raise AuthError(f"{issuer} refused the login: {_oauth_error(body, status)}")
            if self.clock() >= deadline:
                raise AuthError("the login code expired before it was approved; log in again")

    # -- the registered client -------------------------------------------------------------

    def client(
        self,
        context: Context,
        issuer: str,
        meta: Mapping[str, Any],
        client_id: str | None,
        scope: str,
    ) -> dict[str, Any]:
        """The client to log in with: given, saved for this issuer, or registered once."""
        if client_id:
            return {"client_id": client_id}
        saved = _saved_client(context, issuer)
        if saved is not None:
            return saved
        endpoint = meta.get("registration_endpoint")
        if not endpoint:
            raise AuthError(
                f"{issuer} does not register clients; pass a registered one with --client-id"
            )
        status, body = _request(
            "POST",
            str(endpoint),
            json_body={
                "client_name": f"canfar command line on {platform.node() or 'this machine'}",
                "grant_types": [DEVICE_GRANT, "refresh_token"],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": scope,
            },
        )
        if status not in (200, 201) or "client_id" not in body:
            raise AuthError(f"{issuer} refused to register a client: {_oauth_error(body, status)}")
        return {"client_id": body["client_id"], "client_secret": body.get("client_secret")}


def _saved_client(context: Context, issuer: str) -> dict[str, Any] | None:
    """A client registered earlier with ``issuer``: this context's first, then any other's."""
    from canfar_core import config

    saved = config.credentials_file().read()
    entries = [saved.get(context.name)] + [v for k, v in saved.items() if k != context.name]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("issuer") == issuer and entry.get("client_id"):
            return {"client_id": entry["client_id"], "client_secret": entry.get("client_secret")}
    return None


def _client_auth(client: Mapping[str, Any]) -> tuple[str, str] | None:
    secret = client.get("client_secret")
    return (str(client["client_id"]), str(secret)) if secret else None


def _oauth_error(body: Mapping[str, Any], status: int) -> str:
    error = body.get("error_description") or body.get("error")
    return str(error) if error else f"HTTP {status}"
