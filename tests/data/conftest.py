"""Fixtures for ``canfar data``: the same tests run on this machine's files (``local:`` and a
bare path), on the local ``arc:`` folder, and on a third-party storage plugin (``mem:``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.data.memory_storage import MemoryStorage, clear_memory


@dataclass
class Place:
    """A folder on one storage, as an operand prefix: ``prefix + "/name"`` names a file in it."""

    identifier: str
    prefix: str

    def __call__(self, name: str = "") -> str:
        return f"{self.prefix}/{name}" if name else self.prefix


@pytest.fixture
def memory_storage(canfar_plugin) -> None:
    clear_memory()
    canfar_plugin(MemoryStorage(), name="memory-storage")
    yield
    clear_memory()


@pytest.fixture(params=["local", "bare", "arc", "mem"])
def place(request, canfar_home: Path, memory_storage, monkeypatch) -> Place:
    """A folder ``work`` on each storage, made empty."""
    work = canfar_home / "work"
    work.mkdir()
    monkeypatch.chdir(canfar_home)
    if request.param == "local":
        return Place("local", f"local:{work}")
    if request.param == "bare":
        return Place("local", str(work))
    if request.param == "arc":
        (canfar_home / "data" / "canfar" / "arc" / "work").mkdir(parents=True)
        return Place("arc", "arc:/work")
    import fsspec

    fsspec.filesystem("memory").makedirs("/work", exist_ok=True)
    return Place("mem", "mem:/work")
