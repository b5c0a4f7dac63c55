"""Operands resolved to a filesystem and a path, and storage failures turned into one line each.

fsspec is imported here, so this module is imported only when ``canfar data`` runs; without
fsspec, :func:`require_fsspec` names the command that installs it.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from canfar_core.errors import (
    CanfarError,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from canfar.storage import Operand


#: What the ``data`` extra adds (pyproject.toml), installed beside canfar by the install hint.
FSSPEC = "fsspec>=2023.1,<2027"


def install_command() -> str:
    """The command that adds fsspec to the environment canfar runs from: ``pipx inject`` under
    pipx, else canfar's own pip (a bare ``pip install canfar[data]`` would fetch the public
    client of the same name)."""
    from canfar_plugins._support.installer import installer

    return installer().command(FSSPEC)


def require_fsspec() -> None:
    """Fail with the install command when fsspec is missing."""
    try:
        import fsspec  # noqa: F401
    except ImportError:
        raise CanfarError(
            "canfar data needs fsspec, which is not installed", hint=f"run: {install_command()}"
        ) from None


@dataclass
class Target:
    """One operand: the storage's filesystem and the path inside it."""

    operand: Operand
    fs: AbstractFileSystem
    #: Whether the person wrote ``local:`` (messages then name the path the same way).
    explicit: bool = False

    @property
    def path(self) -> str:
        return self.operand.path

    @property
    def label(self) -> str:
        return f"local:{self.path}" if self.explicit else str(self.operand)

    def child(self, name: str) -> Target:
        """The target ``name`` inside this folder."""
        from canfar.storage import Operand

        joined = posixpath.join(self.path.rstrip("/") or "/", name)
        return Target(Operand(self.operand.identifier, joined), self.fs, self.explicit)

    def basename(self) -> str:
        return posixpath.basename(self.path.rstrip("/")) or self.path


class Resolver:
    """Resolves operands for one command, building each storage's filesystem once."""

    def __init__(self) -> None:
        from canfar import storage

        require_fsspec()
        self._storage = storage
        self.known = storage.identifiers()
        self._filesystems: dict[str, AbstractFileSystem] = {}

    def __call__(self, text: str) -> Target:
        operand = self._storage.operand(text, self.known)
        fs = self._filesystems.get(operand.identifier)
        if fs is None:
            fs = self._storage.filesystem(operand.identifier)
            self._filesystems[operand.identifier] = fs
        explicit = False
        if operand.identifier == self._storage.LOCAL:
            explicit = text.startswith(f"{self._storage.LOCAL}:")
            path = fs._strip_protocol(operand.path)
            if operand.path.endswith("/") and not path.endswith("/"):
                path += "/"  # "into this folder", as cp reads it
            operand = type(operand)(operand.identifier, path)
        return Target(operand, fs, explicit)


def _quota(exc: OSError) -> bool:
    return exc.errno in (errno.EDQUOT, errno.ENOSPC) or "quota" in str(exc).lower()


def translate(exc: BaseException, label: str) -> CanfarError | None:
    """The one-line error that tells a person what failed at ``label`` and what to do."""
    if isinstance(exc, CanfarError):
        if label in exc.message:
            return exc
        error = type(exc).__new__(type(exc))
        error.__dict__.update(exc.__dict__)
        error.message = f"{label}: {exc.message}"
        error.args = (error.message,)
        return error
    if isinstance(exc, FileNotFoundError):
        return NotFound(
            f"{label}: no such file or folder", hint="list its folder with: canfar data ls"
        )
    if isinstance(exc, PermissionError):
        return PermissionDenied(
            f"{label}: permission denied", hint="ask its owner for access, or choose another path"
        )
    if isinstance(exc, FileExistsError):
        return CanfarError(
            f"{label}: already exists", hint="choose another name, or remove it first"
        )
    if isinstance(exc, IsADirectoryError):
        return ValidationError(f"{label}: is a folder", hint="add -r to include folders")
    if isinstance(exc, NotADirectoryError):
        return ValidationError(f"{label}: is not a folder")
    if isinstance(exc, OSError) and exc.errno == errno.ENOTEMPTY:
        return CanfarError(f"{label}: the folder is not empty", hint="use: canfar data rm -r")
    if isinstance(exc, OSError) and _quota(exc):
        return CanfarError(
            f"{label}: quota exceeded (no space left)",
            hint="remove files you no longer need, or ask for a larger quota",
        )
    if isinstance(exc, ConnectionError | TimeoutError) or _is_requests_failure(exc):
        return ConnectionFailed(
            f"{label}: the storage service did not answer ({type(exc).__name__})",
            hint="check your network, or try again later",
        )
    if isinstance(exc, OSError) and exc.strerror:  # a name too long, a loop of links, ...
        return ValidationError(f"{label}: {exc.strerror.lower()}")
    return None


def _is_requests_failure(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("requests", "urllib3")) and "Error" in type(exc).__name__


@contextlib.contextmanager
def reported(label: str) -> Iterator[None]:
    """Turn a storage failure at ``label`` into its one-line error."""
    try:
        yield
    except (OSError, CanfarError, ValueError) as exc:
        error = translate(exc, label)
        if error is None:
            raise
        raise error from exc
    except Exception as exc:
        error = translate(exc, label)
        if error is None:
            raise CanfarError(f"{label}: {type(exc).__name__}: {exc}") from exc
        raise error from exc


def relative(name: str, root: str) -> str:
    """``name`` (a path fsspec listed under ``root``) relative to ``root``; ``.`` for itself."""
    return posixpath.relpath(name.rstrip("/") or "/", root.rstrip("/") or "/")


def folder_entries(
    target: Target, details: dict[str, Any], maxdepth: int | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Everything under the folder ``target`` (``details``: its own), by path:
    ``(path inside the folder, fsspec's details)``; a failure to list it is one line."""
    root = str(details["name"])
    with reported(target.label):
        entries = target.fs.find(target.path, withdirs=True, detail=True, maxdepth=maxdepth)
    for key in sorted(entries):
        inside = relative(str(entries[key]["name"]), root)
        if inside != ".":
            yield inside, entries[key]


def is_dir(details: dict[str, Any]) -> bool:
    return details.get("type") == "directory"
