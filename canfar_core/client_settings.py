"""The settings of one client (a :class:`~canfar_core.sessions.Session`), checked in one place.

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

import os
from collections.abc import Mapping

from canfar_core.errors import ValidationError

TIMEOUT_RANGE = (1.0, 300.0)
CONCURRENCY_RANGE = (1, 128)
ERROR_MODES = ("ignore", "raise")
#: What a failure of some ids does when nothing chooses: logged, and left out of the result.
DEFAULT_ERRORS = "ignore"


def _number(value: object, source: str) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValidationError(f"{source} must be a number, not {value!r}")


def check_timeout(value: object, source: str = "timeout") -> float:
    """Seconds, from 1 to 300."""
    number = _number(value, source)
    low, high = TIMEOUT_RANGE
    if not low <= number <= high:
        raise ValidationError(f"{source} must be from {low:g} to {high:g} seconds, not {value!r}")
    return number


def check_concurrency(value: object, source: str = "concurrency") -> int:
    """A whole number from 1 to 128."""
    number = _number(value, source)
    low, high = CONCURRENCY_RANGE
    if not number.is_integer() or not low <= number <= high:
        raise ValidationError(
            f"{source} must be a whole number from {low} to {high}, not {value!r}"
        )
    return int(number)


def check_errors(value: object, source: str = "errors") -> str:
    """``ignore`` or ``raise``."""
    if isinstance(value, str) and value.strip().lower() in ERROR_MODES:
        return value.strip().lower()
    raise ValidationError(f"{source} must be 'ignore' or 'raise', not {value!r}")


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def resolve(
    timeout: object = None,
    concurrency: object = None,
    errors: object = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[float | None, int | None, str]:
    """``(timeout, concurrency, errors)`` from the arguments, else the environment; ``None``
    for a timeout or concurrency nobody chose (the backend's own default applies)."""
    env = os.environ if environ is None else environ
    chosen_timeout: float | None = None
    if timeout is not None:
        chosen_timeout = check_timeout(timeout)
    elif _env(env, "CANFAR_TIMEOUT") is not None:
        chosen_timeout = check_timeout(_env(env, "CANFAR_TIMEOUT"), "CANFAR_TIMEOUT")
    chosen_concurrency: int | None = None
    if concurrency is not None:
        chosen_concurrency = check_concurrency(concurrency)
    elif _env(env, "CANFAR_CONCURRENCY") is not None:
        named_concurrency = _env(env, "CANFAR_CONCURRENCY")
        chosen_concurrency = check_concurrency(named_concurrency, "CANFAR_CONCURRENCY")
    if errors is not None:
        mode = check_errors(errors)
    else:
        named = _env(env, "CANFAR_ERRORS")
        mode = check_errors(named, "CANFAR_ERRORS") if named else DEFAULT_ERRORS
    return chosen_timeout, chosen_concurrency, mode
