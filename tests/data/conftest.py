"""Fixtures for ``canfar data``: the same tests run on this machine's files (``local:`` and a
bare path), on the local ``arc:`` folder, and on a third-party storage plugin (``mem:``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.data.memory_storage import MemoryStorage, clear_memory
from tests.fakeskaha.fixtures import fake_skaha, skaha_context
from tests.fakevospace import FakeVOSpace

__all__ = ["fake_skaha", "skaha_context"]


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


@pytest.fixture
def vospace(request, canfar_home: Path, monkeypatch) -> Iterator[FakeVOSpace]:
    """A fake VOSpace service listed in the fake registry, logged in to as the platform."""
    request.getfixturevalue("skaha_context")
    skaha = request.getfixturevalue("fake_skaha")
    service = FakeVOSpace(token=skaha.token).start()
    skaha.registry_records.append(service.record)
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"token={skaha.registry_url}")
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    yield service
    service.stop()


@pytest.fixture(params=["local", "bare", "arc", "mem", "vospace"])
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
    if request.param == "vospace":
        service = request.getfixturevalue("vospace")
        service.nodes["/work"] = type(service.nodes["/"])(folder=True)
        return Place("arc", "arc:/work")
    import fsspec

    fsspec.filesystem("memory").makedirs("/work", exist_ok=True)
    return Place("mem", "mem:/work")
