"""What the token-carrying providers (``token`` and ``oidc``) share: the bearer header, and the
user and expiry read from a JSON Web Token for display (the server decides what is valid)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canfar_core.models import AuthStatus


def set_bearer(http: Any, token: str) -> None:
    """Send ``token`` on every request of ``http`` (a ``requests.Session``)."""
    http.headers["Authorization"] = f"Bearer {token}"


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


def token_expiry(token: str) -> datetime | None:
    """When a JSON Web Token expires; ``None`` for a token that does not say."""
    return claims_expiry(token_claims(token))


def iso(moment: datetime | None) -> str | None:
    """``2026-01-05T14:03:27Z`` (UTC, whole seconds), or ``None``."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_expiry(result: AuthStatus, expires: datetime | None, fix: str) -> AuthStatus:
    """``result`` with its expiry, and marked not valid when that is past (``expired; fix``)."""
    result.expires = iso(expires)
    if expires is not None and expires <= datetime.now(timezone.utc):
        result.valid = False
        result.detail = f"expired; {fix}"
    return result
