"""Where this process stands among parallel replicas.

A batch job runs the same script as ``count`` replicas; replica ``r`` (1-based) processes only its
share of the items. :func:`resolve_position` finds ``(replica, count)`` from, in this order: the
caller's arguments, ``REPLICA_ID``/``REPLICA_COUNT`` (as the CANFAR platform sets them: 1-based),
the plugins' ``canfar_replica_position`` hook (the plugin manager is loaded only then), else 1
of 1. Knowing only one of the two (a replica but no count, or the reverse) is an error. The
strategies that share the items (``chunk``, ``stripe``, a plugin's) are given the position.

This module is imported by every batch replica, so it imports nothing beyond what the interpreter
has already loaded at start-up (no ``typing`` at run time, no pluggy).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Mapping

from canfar_core.errors import PluginError, ValidationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

    PositionHook = Callable[[Mapping[str, str]], "tuple[int, int | None] | None"]

#: The variables the CANFAR platform sets in each replica of a headless session.
REPLICA_ID = "REPLICA_ID"
REPLICA_COUNT = "REPLICA_COUNT"
HOOK = "canfar_replica_position"

__all__ = [
    "REPLICA_COUNT",
    "REPLICA_ID",
    "PositionAnswer",
    "check_position",
    "parse_int",
    "resolve_position",
]


class PositionAnswer(tuple):
    """A ``canfar_replica_position`` answer, ``(replica, count)``, that also says where the
    replica number was read (``source``, e.g. ``"JOB_COMPLETION_INDEX=2"``), so that an error
    names that variable. A plain tuple is an answer too."""

    source: str

    def __new__(cls, replica: int, count: int | None, source: str) -> PositionAnswer:
        answer = super().__new__(cls, (replica, count))
        answer.source = source
        return answer


def parse_int(name: str, value: object) -> int:
    """``value`` as an int; ``name`` is the variable or argument it came from, for the message.

    Accepts an int (or anything with ``__index__``, such as a numpy integer) and a string of
    decimal digits with optional sign and surrounding blanks. A bool, a float or any other text
    is a :class:`ValidationError` (a ``ValueError``) naming ``name`` and ``value``.
    """
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    elif not isinstance(value, bool):
        try:
            return operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise ValidationError(f"{name}={value!r} is not a whole number")


def check_position(
    replica: int, count: int, replica_name: str = "replica", count_name: str = "count"
) -> None:
    """Raise :class:`ValidationError` unless ``1 <= replica <= count``, naming the culprit."""
    _check(replica, count, f"{replica_name}={replica}", f"{count_name}={count}")


def _check(replica: int, count: int, replica_said: str, count_said: str) -> None:
    # ``*_said`` tell where a value came from, as the user knows it: "REPLICA_ID=5".
    if count < 1:
        raise ValidationError(f"{count_said} is not a valid replica count: it must be 1 or more")
    if replica < 1:
        raise ValidationError(
            f"{replica_said} is not a valid replica number: replicas are numbered from 1 "
            f"({REPLICA_ID} is 1-based)"
        )
    if replica > count:
        raise ValidationError(
            f"{replica_said} is out of range: with {count_said}, replicas are numbered 1 to {count}"
        )


def _ask_plugins(environ: Mapping[str, str]) -> tuple[int, int | None] | None:
    """The first answer of the ``canfar_replica_position`` hook (loads the plugins that may
    answer it: the built-in engines and those the user installed, not the rest)."""
    from canfar_core.manager import position_manager

    answer: tuple[int, int | None] | None = position_manager().hook.canfar_replica_position(
        environ=environ
    )
    return answer


def _given_or_set(
    value: object, argument: str, environ: Mapping[str, str], variable: str
) -> tuple[int | None, str]:
    """The argument if given, else the environment variable (an empty one counts as unset),
    with how the user knows it for messages: ``count=4``, ``REPLICA_COUNT=4``."""
    if value is not None:
        found = parse_int(argument, value)
        return found, f"{argument}={found}"
    raw = environ.get(variable)
    if raw is None or not raw.strip():
        return None, f"{variable}=None"
    found = parse_int(variable, raw)
    return found, f"{variable}={found}"


def resolve_position(
    replica: object = None,
    count: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    ask_plugins: PositionHook | None = None,
) -> tuple[int, int]:
    """This process's ``(replica, count)``, validated; ``replica`` is 1-based.

    Each of the two values comes from the first source that has it: the argument, then
    ``REPLICA_ID`` / ``REPLICA_COUNT`` in ``environ`` (default ``os.environ``), then the
    ``canfar_replica_position`` hook, asked only when the replica is still unknown. With no
    source at all, the process is replica 1 of 1. Knowing only one of the two is an error (for
    example ``REPLICA_ID`` without ``REPLICA_COUNT``, or an engine that gives an index but no
    count): guessing there would make one replica process everything.

    ``ask_plugins`` replaces the hook call (for tests); by default the plugin manager is loaded
    only when the hook is needed. Raises :class:`ValidationError` (a ``ValueError``) naming the
    argument or variable and its value.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ

    found_count, count_said = _given_or_set(count, "count", env, REPLICA_COUNT)
    if found_count is not None:
        _check(1, found_count, "", count_said)
    found_replica, replica_said = _given_or_set(replica, "replica", env, REPLICA_ID)

    if found_replica is None:
        answer = (ask_plugins or _ask_plugins)(env)
        if answer is not None:
            found_replica, hook_count = _check_answer(answer)
            source = getattr(answer, "source", None)
            replica_said = (
                f"{source} (replica {found_replica})"
                if isinstance(source, str) and source
                else f"replica {found_replica} (from the {HOOK} hook)"
            )
            if found_count is None and hook_count is not None:
                found_count = hook_count
                count_said = f"count {found_count} (from the {HOOK} hook)"

    if found_replica is None:
        if found_count is None or found_count == 1:
            return 1, 1
        raise ValidationError(
            f"{count_said} is set but this replica's number is unknown: "
            f"set {REPLICA_ID} (1-based) or pass replica="
        )
    if found_count is None:
        raise ValidationError(
            f"{replica_said} is set but the replica count is unknown: "
            f"set {REPLICA_COUNT} or pass count="
        )
    _check(found_replica, found_count, replica_said, count_said)
    return found_replica, found_count


def _check_answer(answer: object) -> tuple[int, int | None]:
    """A hook answer as ``(replica, count or None)``; anything else is the plugin's bug."""
    if isinstance(answer, (tuple, list)) and len(answer) == 2:
        replica = parse_int(f"{HOOK} replica", answer[0])
        count = None if answer[1] is None else parse_int(f"{HOOK} count", answer[1])
        return replica, count
    raise PluginError(f"{HOOK} returned {answer!r}; a plugin must return (replica, count) or None")
