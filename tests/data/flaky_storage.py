"""A storage that misbehaves on purpose: slow reads, a connection cut after some bytes, a wrong
published checksum. It keeps fsspec's in-memory files, so a test sets them up directly."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from fsspec.implementations.memory import MemoryFileSystem

from canfar_core import hookimpl


@dataclass
class Faults:
    delay: float = 0.0  # seconds per read
    cut_after: int | None = None  # bytes read before the connection is cut
    wrong_md5: bool = False
    open_now: int = 0
    most_open: int = 0


class FlakyFileSystem(MemoryFileSystem):
    faults = Faults()
    lock = threading.Lock()

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        opened = super()._open(path, mode, **kwargs)
        return _Reader(opened, self.faults, self.lock) if "r" in mode else opened

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        found = dict(super().info(path, **kwargs))
        if self.faults.wrong_md5 and found["type"] == "file":
            found["md5"] = "0" * 32
        return found


class _Reader:
    def __init__(self, inner: Any, faults: Faults, lock: threading.Lock) -> None:
        self.inner, self.faults, self.lock, self.read_bytes = inner, faults, lock, 0
        with lock:
            faults.open_now += 1
            faults.most_open = max(faults.most_open, faults.open_now)

    def read(self, size: int = -1) -> bytes:
        time.sleep(self.faults.delay)
        if self.faults.cut_after is not None and self.read_bytes >= self.faults.cut_after:
            raise ConnectionResetError("connection reset by peer")
        block = self.inner.read(size if self.faults.cut_after is None else min(size, 1000))
        self.read_bytes += len(block)
        return block

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self.faults.open_now -= 1


class FlakyStorage:
    @hookimpl
    def canfar_register_storage(self, register):
        register("flaky", lambda context: FlakyFileSystem(skip_instance_cache=True))
