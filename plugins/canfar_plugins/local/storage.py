"""This machine's storages: ``local`` (its files) and, with no login, ``arc`` (a folder here).

On the platform, every session sees its home and project storage under ``/arc``; with the local
backend, ``arc:`` is a folder in canfar's data folder, mounted at ``/arc`` in the sessions a
container runtime runs, so a script reads ``/arc/...`` in both places.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from canfar_core.contexts import Context

LOCAL_BACKEND = "local"


def arc_folder(create: bool = False) -> Path:
    """The folder that stands for the platform's ``/arc`` on this machine."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("canfar", appauthor=False)) / "arc"
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_storage(context: Context) -> AbstractFileSystem:
    """This machine's files, whatever the context."""
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem()


def arc_storage(context: Context) -> AbstractFileSystem | None:
    """``arc``: the folder of :func:`arc_folder` when sessions run on this machine."""
    if context.backend != LOCAL_BACKEND:
        return None
    return _rooted(arc_folder(create=True))


def _rooted(root: Path) -> Any:
    from fsspec.implementations.dirfs import DirFileSystem
    from fsspec.implementations.local import LocalFileSystem

    class ArcFolder(DirFileSystem):
        """A folder seen as a filesystem whose root is ``/``."""

        def _join(self, path: Any) -> Any:
            if isinstance(path, str):
                path = path.lstrip("/")
            elif isinstance(path, list):
                path = [p.lstrip("/") for p in path]
            return super()._join(path)

        def _relpath(self, path: Any) -> Any:
            found = super()._relpath(path)
            if isinstance(found, str):
                return "/" + found.lstrip("/")
            return ["/" + p.lstrip("/") for p in found]

    return ArcFolder(path=str(root), fs=LocalFileSystem(auto_mkdir=True))
