"""A third-party storage plugin, as small as one can be: fsspec's in-memory filesystem under the
identifier ``mem``. Nothing in canfar knows about it; every ``canfar data`` command must work on
it all the same."""

from __future__ import annotations

from canfar_core import hookimpl


class MemoryStorage:
    """Registers ``mem:``, a fresh in-memory filesystem shared by every call in one test."""

    @hookimpl
    def canfar_register_storage(self, register):
        import fsspec

        register("mem", lambda context: fsspec.filesystem("memory", skip_instance_cache=True))


def clear_memory() -> None:
    """Empty fsspec's in-memory filesystem (its files are class-wide)."""
    from fsspec.implementations.memory import MemoryFileSystem

    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]
