"""A cache of the top-level help, so that ``canfar --help`` needs neither click nor any plugin.

The help lists every plugin's commands, so building it means importing click and every plugin
module: several times a bare interpreter's start-up, for the command people type most. The text
changes only when canfar, the Python running it, a plugin distribution, the set of disabled
plugins or the terminal's width changes; all of those make up the cache key, and the key is
stored beside the text and compared whole.

Nothing is cached where the key could miss a change: an editable install (its code changes
without reinstalling), a distribution found only through an import hook or a zip file, or a run
in which a plugin failed to load (its warning must show every time).
"""

from __future__ import annotations

import os
import sys

CACHE_NAME = "help.txt"
GROUP = "canfar"


def cache_file() -> str:
    """Where the cached help lives: the user's cache folder (computed without platformdirs,
    which would cost more to import than reading the cache)."""
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches")
    elif sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "canfar", CACHE_NAME)


def terminal_width() -> int:
    """The width click lays the help out for: ``shutil.get_terminal_size``'s rule."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _is_editable(folder: str) -> bool:
    if folder.endswith(".egg-info"):  # a development install made by `setup.py develop`
        return True
    try:
        with open(os.path.join(folder, "direct_url.json"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return False
    return '"editable": true' in text or '"editable":true' in text


def key() -> str | None:
    """Everything the help depends on, as one line; ``None`` when it must not be cached."""
    from canfar_core import __version__
    from canfar_core._entrypoints import Distribution, entry_points

    parts = [
        __version__,
        # Resolved: bin/python and bin/python3 of one venv are one interpreter, one cache.
        os.path.realpath(sys.executable),
        sys.prefix,
        sys.version.split()[0],
        os.environ.get("CANFAR_DISABLE_PLUGINS", ""),
        repr(os.environ.get("CANFAR_LOAD_PLUGINS")),  # unset and empty differ
        str(terminal_width()),
    ]
    folders: set[str] = set()
    for ep in entry_points(GROUP):
        dist = getattr(ep, "dist", None)
        if not isinstance(dist, Distribution):  # found by importlib.metadata: no folder to date
            return None
        folder = dist._folder
        if folder not in folders:
            if _is_editable(folder):
                return None
            try:
                stamp = os.stat(os.path.join(folder, "entry_points.txt")).st_mtime_ns
            except OSError:
                return None
            folders.add(folder)
            parts.append(f"{folder}@{stamp}")
        parts.append(f"{ep.name}={ep.value}")
    return "\t".join(parts).replace("\n", " ")


def read(cache_key: str) -> str | None:
    """The cached help for ``cache_key``, or ``None``."""
    try:
        with open(cache_file(), encoding="utf-8") as handle:
            stored_key = handle.readline().rstrip("\n")
            if stored_key != cache_key:
                return None
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def write(cache_key: str, text: str) -> None:
    """Store the help; a cache that cannot be written is simply not used."""
    import contextlib
    from pathlib import Path

    from canfar_core.config import atomic_write

    with contextlib.suppress(OSError):
        atomic_write(Path(cache_file()), f"{cache_key}\n{text}")


def render() -> tuple[str, bool]:
    """The help as click prints it, and whether it may be cached (no plugin failed to load)."""
    from canfar_core.cli import build_cli
    from canfar_core.manager import get_manager

    group = build_cli()
    ctx = group.make_context("canfar", [], resilient_parsing=True)
    text = group.get_help(ctx) + "\n"
    return text, not get_manager().failures
