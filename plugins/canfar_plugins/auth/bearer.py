"""The ``token`` auth provider: a bearer token, saved at login or given by ``CANFAR_TOKEN``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from canfar_core.auth import (
    Credentials,
    check_token,
    claims_expiry,
    claims_user,
    iso,
    login_command,
    token_claims,
)
from canfar_core.errors import AuthError, ValidationError
from canfar_core.models import AuthStatus

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
        http.headers["Authorization"] = f"Bearer {self.token(context, credentials)}"

    def check(self, context: Context, credentials: Credentials) -> None:
        expires = claims_expiry(token_claims(self.token(context, credentials)))
        if expires is not None and expires <= datetime.now(timezone.utc):
            raise AuthError(
                f"the token of context '{context.name}' expired on {iso(expires)}; "
                f"log in again: {login_command(context)}"
            )

    def status(self, context: Context, credentials: Credentials) -> AuthStatus:
        token = credentials.get("token")
        result = AuthStatus(context=context.name, server=context.url or "", auth=self.name)
        if not isinstance(token, str) or not token:
            result.valid = False
            result.detail = f"no token saved; log in: {login_command(context)}"
            return result
        claims = token_claims(token)
        expires = claims_expiry(claims)
        result.user = claims_user(claims)
        result.expires = iso(expires)
        if expires is not None and expires <= datetime.now(timezone.utc):
            result.valid = False
            result.detail = f"expired; log in again: {login_command(context)}"
        return result

    def login(self, context: Context, **options: Any) -> dict[str, Any]:
        """The token given as ``token=`` (read from stdin or a hidden prompt by the command)."""
        token = str(options.get("token") or "").strip()
        if not token:
            raise ValidationError("no token given (it was empty)")
        check_token(token, "the token")
        return {"token": token}
