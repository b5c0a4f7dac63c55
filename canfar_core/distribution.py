"""Where this process stands among parallel replicas: what a replica position is.

A batch job runs the same script as ``count`` replicas; replica ``r`` (1-based) processes only its
share of the items. The position comes from ``REPLICA_ID``/``REPLICA_COUNT`` (as the CANFAR
platform sets them: 1-based) or from a plugin's ``canfar_replica_position`` answer (a
:class:`PositionAnswer` names the variable it read); :mod:`canfar.helpers.distributed` resolves
it, and the strategies that share the items (``chunk``, ``stripe``, a plugin's) check it here.

This module is imported by every batch replica, so it imports nothing beyond what the interpreter
has already loaded at start-up (no ``typing`` at run time, no pluggy).
"""

from __future__ import annotations

import operator

from canfar_core.errors import ValidationError

#: The variables the CANFAR platform sets in each replica of a headless session.
REPLICA_ID = "REPLICA_ID"
REPLICA_COUNT = "REPLICA_COUNT"
HOOK = "canfar_replica_position"

__all__ = ["HOOK", "REPLICA_COUNT", "REPLICA_ID", "PositionAnswer", "check_position", "parse_int"]


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
    replica: int, count: int, replica_said: str | None = None, count_said: str | None = None
) -> None:
    """Raise :class:`ValidationError` unless ``1 <= replica <= count``, naming the culprit as
    the user knows it: ``replica_said`` and ``count_said`` tell where each value came from
    (``"REPLICA_ID=5"``; by default ``"replica=5"`` and ``"count=4"``)."""
    replica_said = replica_said or f"replica={replica}"
    count_said = count_said or f"count={count}"
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
