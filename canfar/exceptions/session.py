"""``from canfar.exceptions.session import SessionRequestError``, as the platform client has it.

Raised by the session methods under ``errors="raise"``: ``results`` holds what the call would
have returned, ``errors`` each failed session id's (or replica number's) error.
"""

from __future__ import annotations

from canfar_core.errors import LaunchRequestError, SessionRequestError

__all__ = ["LaunchRequestError", "SessionRequestError"]
