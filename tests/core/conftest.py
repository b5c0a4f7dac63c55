"""Fixtures for the core's tests: installed-looking plugin distributions and a fresh manager."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from canfar_core import manager as manager_module


@pytest.fixture
def fresh_manager() -> Iterator[None]:
    """Make the next ``get_manager()`` load the plugins again, and forget it after the test."""
    manager_module.reset_manager()
    yield
    manager_module.reset_manager()


#: ``make_dist(name, version, entry_points, modules, *, folder=None)`` -> the folder it wrote
MakeDist = Callable[..., Path]


@pytest.fixture
def make_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_manager: None
) -> Iterator[MakeDist]:
    """Write a distribution as an installer leaves it (a ``.dist-info`` folder with its entry
    points, and its modules) into a folder put on ``sys.path`` for one test."""
    written: list[str] = []
    counter = iter(range(1000))

    def make(
        name: str,
        version: str,
        entry_points: dict[str, str],
        modules: dict[str, str],
        *,
        folder: Path | None = None,
    ) -> Path:
        if folder is None:
            folder = tmp_path / f"site-{next(counter)}"
        folder.mkdir(parents=True, exist_ok=True)
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = ["[canfar]", *(f"{ep} = {target}" for ep, target in entry_points.items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for module, source in modules.items():
            (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
            written.append(module)
        monkeypatch.syspath_prepend(str(folder))
        return folder

    yield make
    for module in written:
        sys.modules.pop(module, None)
