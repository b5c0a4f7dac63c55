"""The platform client's authentication errors, by the names its documentation uses.

Each is this project's :class:`~canfar.errors.AuthError` (credentials missing, expired or
refused), so ``except AuthExpiredError`` catches what ``except AuthError`` does.
"""

from __future__ import annotations

from canfar_core.errors import AuthError

AuthContextError = AuthError
AuthRequiredError = AuthError
AuthExpiredError = AuthError

__all__ = ["AuthContextError", "AuthExpiredError", "AuthRequiredError"]
