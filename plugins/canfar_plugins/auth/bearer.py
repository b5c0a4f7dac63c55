"""The ``token`` auth provider: a bearer token, saved at login or given by ``CANFAR_TOKEN``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from canfar_core.auth import Credentials, check_token
from canfar_core.errors import AuthError, ValidationError
from canfar_core.models import AuthStatus
from canfar_plugins._support.login import login_command
from canfar_plugins.auth import tokens as token_info

if TYPE_CHECKING:
    from canfar_core.contexts import Context


class TokenProvider:
    """``Authorization: Bearer <token>``. A token that is a JWT shows its user and expiry."""

    name = "token"

    def token(self, context: Context, credentials: Credentials) -> str:
        token = credentials.get("token")
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"no token is saved for context '{context.name}'; log in: {login_command(context)}"
            )
        return token

    def apply(self, http: Any, context: Context, credentials: Credentials) -> None:
        token_info.set_bearer(http, self.token(context, credentials))

    def check(self, context: Context, credentials: Credentials) -> None:
        expires = token_info.token_expiry(self.token(context, credentials))
        if expires is not None and expires <= datetime.now(timezone.utc):
            raise AuthError(
                f"the token of context '{context.name}' expired on {token_info.iso(expires)}; "
                f"log in again: {login_command(context)}"
            )

    def status(self, context: Context, credentials: Credentials) -> AuthStatus:
        token = credentials.get("token")
        result = AuthStatus(context=context.name, server=context.url or "", auth=self.name)
        if not isinstance(token, str) or not token:
            result.valid = False
            result.detail = f"no token saved; log in: {login_command(context)}"
            return result
        claims = token_info.token_claims(token)
        result.user = token_info.claims_user(claims)
        expires = token_info.claims_expiry(claims)
        return token_info.with_expiry(result, expires, f"log in again: {login_command(context)}")

    def login(self, context: Context, **options: Any) -> dict[str, Any]:
        """The token given as ``token=`` (read from stdin or a hidden prompt by the command)."""
        token = str(options.get("token") or "").strip()
        if not token:
            raise ValidationError("no token given (it was empty)")
        check_token(token, "the token")
        return {"token": token}
