"""Wheels of the distributions installed in this venv, packed again from their installed
files, so that an installer (pipx) can install canfar's dependencies with no network."""

from __future__ import annotations

import zipfile
from importlib.metadata import Distribution, distribution
from pathlib import Path

from packaging.requirements import Requirement


def dependencies(name: str) -> list[str]:
    """``name`` and every distribution it needs (no extras), each once."""
    found: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        dist = distribution(current)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found.append(key)
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def repack(dist: Distribution, folder: Path) -> Path:
    """A wheel in ``folder`` holding what ``dist`` installed in site-packages."""
    name = dist.metadata["Name"].replace("-", "_")
    tag = next(
        line.split(":", 1)[1].strip()
        for line in (dist.read_text("WHEEL") or "Tag: py3-none-any").splitlines()
        if line.startswith("Tag:")
    )
    wheel = folder / f"{name}-{dist.version}-{tag}.whl"
    files = [f for f in dist.files or [] if ".." not in f.parts and "__pycache__" not in f.parts]
    record = next(f for f in files if f.name == "RECORD")
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in files:
            if file != record:
                archive.write(Path(str(dist.locate_file(file))), str(file))
        archive.writestr(
            str(record), "".join(f"{f},,\n" for f in files if f != record) + f"{record},,\n"
        )
    return wheel


def wheelhouse(folder: Path, *names: str) -> Path:
    """``folder`` filled with wheels of ``names``'s dependencies (not ``names`` themselves)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        for needed in dependencies(name)[1:]:
            repack(distribution(needed), folder)
    return folder
