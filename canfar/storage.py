"""The storages ``canfar data`` reaches, as fsspec filesystems.

Each storage has a short identifier (``local``, ``arc``, ``vault``, or one a plugin registers
through ``canfar_register_storage``) and a path inside it, written ``IDENTIFIER:/PATH``::

    from canfar import storage

    storage.identifiers()                 # ['local', 'arc', ...]: those of the active context
    arc = storage.filesystem("arc")       # an fsspec filesystem
    with arc.open("/results/table.csv") as f:
        ...

fsspec comes with the ``data`` extra (``pip install 'canfar[data]'``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from canfar_core.errors import ValidationError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from canfar_core.contexts import Context

__all__ = ["LOCAL", "Operand", "UnknownStorage", "filesystem", "identifiers", "operand"]

#: The storage of this machine's own files, always present; a bare path means it too.
LOCAL = "local"


class UnknownStorage(ValidationError, KeyError):
    """An identifier that no storage answers to in the active context."""

    def __str__(self) -> str:  # KeyError would quote the message
        return ValidationError.__str__(self)


class Operand(NamedTuple):
    """One ``IDENTIFIER:/PATH`` operand, split."""

    identifier: str
    path: str

    def __str__(self) -> str:
        return self.path if self.identifier == LOCAL else f"{self.identifier}:{self.path}"


def _context(
    token: str | None = None, certificate: str | os.PathLike[str] | None = None
) -> Context:
    from canfar._client_settings import client_context

    return client_context(None, None, None, token, certificate)


def _registry() -> Any:
    from canfar_core.manager import get_manager

    return get_manager().registry("storage")


def identifiers(context: Context | None = None) -> list[str]:
    """Every storage identifier the active context (or ``context``) can address, ``local`` first."""
    context = context or _context()
    registry = _registry()
    found = [name for name in registry.names() if registry.filesystem(name, context) is not None]
    return sorted(found, key=lambda name: (name != LOCAL, name))


def filesystem(
    identifier: str,
    *,
    token: str | None = None,
    certificate: str | os.PathLike[str] | None = None,
    context: Context | None = None,
) -> AbstractFileSystem:
    """The fsspec filesystem of storage ``identifier``, with the active context's credentials.

    ``token`` or ``certificate`` replace the saved credentials for this filesystem; ``context``
    names the context outright. An identifier that is not configured raises
    :class:`UnknownStorage` (a ``KeyError`` and a ``ValueError``).
    """
    context = context or _context(token, certificate)
    found = _registry().filesystem(identifier, context)
    if found is None:
        known = ", ".join(identifiers(context))
        raise UnknownStorage(f"no storage named '{identifier}' here (known: {known})")
    return found


def operand(text: str, known: list[str] | None = None) -> Operand:
    """Split ``IDENTIFIER:/PATH``; anything whose head is not a known identifier is a local path.

    So ``arc:/projects/x`` is in ``arc`` (when ``arc`` is configured) and
    ``obs-2024-01-01T10:00:00.fits`` is a file here. ``known`` defaults to :func:`identifiers`.
    """
    if not text:
        raise ValidationError("an empty path names nothing")
    head, colon, rest = text.partition(":")
    if colon and head and (head in known if known is not None else head in identifiers()):
        if head == LOCAL:
            return Operand(LOCAL, os.path.expanduser(rest or "."))
        return Operand(head, "/" + rest.lstrip("/"))
    return Operand(LOCAL, os.path.expanduser(text))
