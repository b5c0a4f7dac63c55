"""The session kinds and statuses as the platform's public client spells them, mapped onto ours.

Scripts written for the public ``canfar`` client (1.5) ask for ``status="Succeeded"`` or
``kind="desktop-app"``. Both the Python API and the command line read every kind and status a
user gives through :func:`canonical_status` and :func:`canonical_kind`, so the two accept the
same words and refuse the same ones.

- ``Succeeded`` is what servers before 2025 reported for a finished session; current servers say
  ``Completed``. ``Error`` is in the public client's list but no server sends it; the nearest
  status is ``Failed``.
- ``desktop-app`` (an application inside a desktop session) can be listed but not created: the
  platform starts those from a running desktop, never through a launch.
"""

from __future__ import annotations

from collections.abc import Collection

from canfar_core.errors import ValidationError
from canfar_core.models import STATUSES

#: The kinds the public client documents.
PUBLIC_KINDS = ("desktop", "notebook", "carta", "headless", "firefly", "desktop-app", "contributed")
#: The statuses the public client documents.
PUBLIC_STATUSES = ("Pending", "Running", "Terminating", "Succeeded", "Completed", "Error", "Failed")
#: Public statuses that are spelled differently here, by lower-cased public name.
STATUS_ALIASES = {"succeeded": "Completed", "error": "Failed"}
#: Kinds that can be listed and filtered on, but never launched.
LISTING_ONLY_KINDS = ("desktop-app",)


def canonical_status(status: object) -> str:
    """Our spelling of a status given in any case, ours or the public client's.

    ``"completed"`` -> ``"Completed"``, ``"Succeeded"`` -> ``"Completed"``, ``"Error"`` ->
    ``"Failed"``. Anything else is a :class:`ValidationError` listing the accepted words.
    """
    if isinstance(status, str):
        lowered = status.strip().lower()
        for known in STATUSES:
            if lowered == known.lower():
                return known
        if lowered in STATUS_ALIASES:
            return STATUS_ALIASES[lowered]
    accepted = ", ".join(dict.fromkeys((*STATUSES, *PUBLIC_STATUSES)))
    raise ValidationError(f"unknown status {_shown(status)} (known: {accepted})")


def canonical_kind(kind: object, known: Collection[str], *, listing: bool = False) -> str:
    """Our name of a session kind given in any case, checked against the ``known`` kinds.

    With ``listing=True`` the kinds that can only be listed (``desktop-app``) are accepted too;
    otherwise asking to launch one is a :class:`ValidationError` that says why.
    """
    if isinstance(kind, str):
        lowered = kind.strip().lower()
        if lowered in known:
            return lowered
        if lowered in LISTING_ONLY_KINDS:
            if listing:
                return lowered
            raise ValidationError(
                f"a {lowered} session is started from inside a running desktop session; "
                "it cannot be created on its own"
            )
    raise ValidationError(f"unknown session kind {_shown(kind)} (known: {', '.join(known)})")


def _shown(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


__all__ = [
    "LISTING_ONLY_KINDS",
    "PUBLIC_KINDS",
    "PUBLIC_STATUSES",
    "STATUS_ALIASES",
    "canonical_kind",
    "canonical_status",
]
