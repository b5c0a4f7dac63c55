"""Saving sessions' output to files (``canfar logs -o DIR``): the file names, and writes that
never leave a half-written file.

Imported by the ``logs`` command when it saves files, not at start-up.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from canfar_core.errors import CanfarError
from canfar_core.validation import MAX_REPLICAS

#: Replica numbers in file names are padded to this many digits (``fit-7`` -> ``fit-007``).
REPLICA_DIGITS = len(str(MAX_REPLICAS))

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_REPLICA = re.compile(r"-(\d+)$")


def log_filename(name: str, session_id: str) -> str:
    """``NAME.ID.log``, where ``ls`` lists replicas in order and no two sessions share a name.

    The session name keeps letters, digits, ``_`` and ``-`` (anything else becomes ``-``) and
    its trailing replica number is padded (``fit-7`` -> ``fit-007``). The id follows the first
    ``.``, which the name part never holds, so distinct ids always give distinct names.
    """
    safe = _UNSAFE.sub("-", name).strip("-") or "session"
    safe = _REPLICA.sub(lambda m: "-" + m.group(1).zfill(REPLICA_DIGITS), safe)
    return f"{safe}.{session_id}.log"


def current_umask() -> int:
    """The process umask (read once, before any thread writes: reading it means setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _Unfinished:
    """The temporary files of the writes under way in this process.

    Several logs are saved by worker threads (daemon threads), and when Ctrl-C ends the
    command the process exits under them: they never get to remove their own temporary file.
    At exit the files still being written are removed, and no new one is begun.
    """

    def __init__(self) -> None:
        self._paths: set[str] = set()
        self._lock = threading.Lock()
        self._exiting = False

    def begin(self, path: Path) -> tuple[int, str]:
        with self._lock:
            if self._exiting:
                raise CanfarError(f"not saved to {path}: canfar is exiting")
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            self._paths.add(tmp)
        return fd, tmp

    def end(self, tmp: str) -> None:
        with self._lock:
            self._paths.discard(tmp)

    def remove_all(self) -> None:
        with self._lock:
            self._exiting = True
            for tmp in self._paths:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            self._paths.clear()


_unfinished = _Unfinished()
atexit.register(_unfinished.remove_all)


def write_file(path: Path, data: bytes | Iterable[bytes], mode: int = 0o644) -> int:
    """Replace ``path`` with ``data`` (bytes, or pieces of them written as they come)
    atomically: a reader sees the old file or the whole new one, and an interrupted write
    leaves no partial file behind, even one made by a thread the process exits under.
    Returns the number of bytes written."""
    try:
        fd, tmp = _unfinished.begin(path)
    except OSError as exc:
        raise CanfarError(f"cannot write in {path.parent}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, mode)
        size = 0
        with os.fdopen(fd, "wb") as handle:
            for piece in [data] if isinstance(data, bytes) else data:
                handle.write(piece)
                size += len(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return size
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CanfarError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    finally:
        _unfinished.end(tmp)


def make_folder(folder: Path) -> None:
    """Create the output folder (and its parents); a clear error when that is not possible."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CanfarError(f"cannot save logs in {folder}: it is a file, not a folder") from None
    except OSError as exc:
        raise CanfarError(f"cannot create {folder}: {exc.strerror or exc}") from None
