"""The entry points of one group, found without importing :mod:`importlib.metadata`.

Importing it costs more than all of canfar's own code (docs/performance.md says how much), and
installers leave entry points in a plain ``entry_points.txt`` in each ``*.dist-info`` (or
``*.egg-info``) folder on ``sys.path``: reading those gives the same answer. Where a ``sys.path``
entry is a zip file, or an import hook provides distributions, :mod:`importlib.metadata` answers.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from importlib.machinery import PathFinder

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

_SUFFIXES = (".dist-info", ".egg-info")


class Distribution:
    """The two metadata fields the plugin manager reads: ``metadata["Name"]``, ``version``."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._fields: dict[str, str] | None = None

    @property
    def metadata(self) -> dict[str, str]:
        if self._fields is None:
            self._fields = _read_headers(self._folder)
        return self._fields

    @property
    def version(self) -> str | None:
        return self.metadata.get("Version")


class EntryPoint:
    """One ``name = module:attr`` line of a distribution's ``entry_points.txt``."""

    def __init__(self, name: str, value: str, group: str, dist: Distribution | None) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.dist = dist

    def load(self) -> Any:
        """Import the module and return the object the entry point names."""
        target = self.value.split("[", 1)[0]  # ``module:attr [extras]``: extras do not matter
        module_name, _, attrs = target.partition(":")
        loaded = import_module(module_name.strip())
        for attr in attrs.strip().split("."):
            if attr:
                loaded = getattr(loaded, attr)
        return loaded

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def entry_points(group: str) -> list[Any]:
    """The entry points of ``group`` of every distribution on ``sys.path``, like
    ``importlib.metadata.entry_points(group=group)``: a distribution found twice (under one
    normalised name) counts once, the first on ``sys.path``."""
    if not _plain_paths_only():
        from importlib.metadata import entry_points as standard

        return list(standard(group=group))
    found: list[Any] = []
    seen: set[str] = set()
    for folder in _distribution_folders():
        name = _normalise(os.path.basename(folder).rsplit(".", 1)[0].split("-", 1)[0])
        if name in seen:
            continue
        seen.add(name)
        lines = _group_lines(os.path.join(folder, "entry_points.txt"), group)
        if lines:
            dist = Distribution(folder)
            found.extend(EntryPoint(n, v, group, dist) for n, v in lines)
    return found


def _plain_paths_only() -> bool:
    """Whether every distribution lives in a plain folder on ``sys.path``."""
    for finder in sys.meta_path:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return False
    return not any(entry and os.path.isfile(entry) for entry in sys.path)


def _distribution_folders() -> Iterator[str]:
    for entry in sys.path:
        path = entry or "."
        try:
            with os.scandir(path) as children:
                names = [c.name for c in children if c.name.lower().endswith(_SUFFIXES)]
        except OSError:  # missing or unreadable: importlib.metadata skips it too
            continue
        for name in names:
            folder = os.path.join(path, name)
            if os.path.isdir(folder):
                yield folder


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _group_lines(path: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of section ``[group]`` of an ``entry_points.txt``."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return []
    header = f"[{group}]"
    if header not in text:
        return []
    pairs = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line == header
        elif inside and "=" in line:
            name, value = line.split("=", 1)
            pairs.append((name.strip(), value.strip()))
    return pairs


def _read_headers(folder: str) -> dict[str, str]:
    """``Name`` and ``Version`` from the metadata file's headers (the part before the body)."""
    fields: dict[str, str] = {}
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, filename), encoding="utf-8") as file:
                for line in file:
                    if not line.strip():
                        break
                    key, sep, value = line.partition(":")
                    if sep and key in ("Name", "Version") and key not in fields:
                        fields[key] = value.strip()
        except OSError:
            continue
        break
    if "Name" not in fields:  # no metadata file: the folder is named NAME-VERSION.dist-info
        stem = os.path.basename(folder).rsplit(".", 1)[0]
        name, _, version = stem.partition("-")
        fields["Name"] = name
        if version:
            fields.setdefault("Version", version.split("-", 1)[0])
    return fields
