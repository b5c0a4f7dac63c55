"""The settings of one client (a :class:`~canfar.sessions.Session`), checked in one place.

Each comes from the argument, else its environment variable, else its default; a value out of
its documented range is a :class:`ValidationError` naming where it came from.

==================  ======================  =====================================================
argument            variable                meaning
==================  ======================  =====================================================
``timeout``         ``CANFAR_TIMEOUT``      seconds a request may wait for an answer (1 to 300)
``concurrency``     ``CANFAR_CONCURRENCY``  requests in flight at once for one call (1 to 128)
``errors``          ``CANFAR_ERRORS``       ``ignore`` (log failed ids, leave them out) or
                                            ``raise`` (:class:`SessionRequestError`)
==================  ======================  =====================================================

They are handed to backends as context options (``timeout``, ``concurrency``) that a backend
may read; a backend that has no use for them ignores them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from canfar_core.contexts import Context, active_context, adhoc_context, get_context
from canfar_core.errors import ValidationError
from canfar_core.validation import check_errors, check_types

#: Each setting: its environment variable, how it is checked, its default.
RANGES = {"timeout": (1.0, 300.0), "concurrency": (1, 128)}


def check_setting(name: str, value: object, source: str | None = None) -> Any:
    """``timeout`` (seconds, 1 to 300), ``concurrency`` (a whole number, 1 to 128) or
    ``errors`` (``ignore`` or ``raise``); a bad value names ``source`` (the argument's name,
    else the variable it came from)."""
    source = source or name
    if name == "errors":
        return check_errors(value, source)
    number = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            number = float(value.strip() if isinstance(value, str) else value)
    if number is None:
        raise ValidationError(f"{source} must be a number, not {value!r}")
    low, high = RANGES[name]
    if name == "timeout" and not low <= number <= high:
        raise ValidationError(f"{source} must be from {low:g} to {high:g} seconds, not {value!r}")
    if name == "concurrency" and (not number.is_integer() or not low <= number <= high):
        raise ValidationError(
            f"{source} must be a whole number from {low} to {high}, not {value!r}"
        )
    return number if name == "timeout" else int(number)


def resolve(
    timeout: object = None,
    concurrency: object = None,
    errors: object = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[float | None, int | None, str]:
    """``(timeout, concurrency, errors)`` from the arguments, else the environment; ``None``
    for a timeout or concurrency nobody chose (the backend's own default applies), and
    ``"ignore"`` for errors."""
    env = os.environ if environ is None else environ
    chosen: dict[str, Any] = {}
    for name, value in (("timeout", timeout), ("concurrency", concurrency), ("errors", errors)):
        variable = f"CANFAR_{name.upper()}"
        if value is not None:
            chosen[name] = check_setting(name, value)
        elif env.get(variable, "").strip():
            chosen[name] = check_setting(name, env[variable].strip(), variable)
    return chosen.get("timeout"), chosen.get("concurrency"), chosen.get("errors", "ignore")


def client_context(
    context: str | None,
    backend: str | None,
    url: str | None,
    token: str | None,
    certificate: str | os.PathLike[str] | None,
) -> Context:
    """The context a :class:`Session` with these arguments talks to: ``url`` with a ``token``
    (or an X.509 ``certificate``; the token wins) is one of its own; ``token`` or
    ``certificate`` alone replace the credentials of the chosen context."""
    check_types(str, "a string", context=context, backend=backend, url=url, token=token)
    check_types((str, os.PathLike), "a string", certificate=certificate)
    token = str(token).strip() if token else None
    cert = os.fspath(certificate) if certificate else None
    if url:
        if not token and not cert:
            raise ValidationError("a url needs a token (or a certificate) too")
        return adhoc_context(url, token, cert, backend=backend, source="argument")
    preferred = backend
    if not backend and not context:
        from canfar_core.config import config_file, saved_setting

        preferred = saved_setting(config_file().read(), "defaults.backend")
    chosen = get_context(context) if context else active_context(backend=preferred)
    if not backend and not context and chosen.source != "environment":
        backend = preferred
    if backend and backend != chosen.backend:
        chosen = Context(name=backend, backend=backend, source="argument")
    if token:
        chosen.env_secrets["token"] = token
        if chosen.auth == "x509":  # a token wins over a certificate
            chosen.auth, chosen.options = "token", {}
    elif cert and chosen.backend != "local":
        chosen.auth, chosen.options["cert"] = "x509", cert
    return chosen
