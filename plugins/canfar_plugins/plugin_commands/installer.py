"""Which installer owns the environment canfar runs from, and the command lines it takes.

canfar installed with pipx lives in a virtual environment of pipx's (it holds a
``pipx_metadata.json``): packages go in with ``pipx inject``, so that pipx keeps them on
upgrades. Anywhere else, the pip of canfar's own interpreter installs beside canfar.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field

from canfar_core.errors import CanfarError

PIPX_METADATA = "pipx_metadata.json"


@dataclass(frozen=True)
class Installer:
    """One installer: ``name`` is ``pipx`` or ``pip``; ``argv`` builds its command lines."""

    name: str
    #: The pipx environment's name (``canfar``), for ``pipx inject NAME``.
    environment: str = ""
    pip_options: tuple[str, ...] = field(default=())

    def argv(self, *packages: str, editable: bool = False, upgrade: bool = False) -> list[str]:
        """The command that installs ``packages`` (names, paths, URLs) into canfar's
        environment; ``editable`` installs each from its folder in development mode."""
        if self.name == "pipx":
            options = [*self.pip_options, *(["--upgrade"] if upgrade else [])]
            return [
                _pipx(),
                "inject",
                *(["--editable"] if editable else []),
                *([f"--pip-args={shlex.join(options)}"] if options else []),
                self.environment,
                *packages,
            ]
        edit = [word for package in packages for word in ("-e", package)] if editable else []
        return [
            *_pip(),
            "install",
            "--disable-pip-version-check",
            *self.pip_options,
            *(["--upgrade"] if upgrade else []),
            *(edit or packages),
        ]

    def uninstall_argv(self, *distributions: str) -> list[str]:
        """The command that removes ``distributions`` (pip names) from canfar's environment."""
        if self.name == "pipx":
            return [_pipx(), "uninject", self.environment, *distributions]
        return [*_pip(), "uninstall", "--yes", "--disable-pip-version-check", *distributions]


def installer(pip_options: tuple[str, ...] = ()) -> Installer:
    """The installer of the environment this interpreter runs in.

    A pipx environment is told by the ``pipx_metadata.json`` pipx writes at its root; its
    name is the folder's name.
    """
    if os.path.isfile(os.path.join(sys.prefix, PIPX_METADATA)):
        return Installer("pipx", os.path.basename(sys.prefix.rstrip(os.sep)), pip_options)
    return Installer("pip", pip_options=pip_options)


def _pipx() -> str:
    found = shutil.which("pipx")
    if not found:
        raise CanfarError(
            "canfar was installed with pipx, but the pipx command is not on PATH; "
            "install plugins with: pipx inject canfar PACKAGE"
        )
    return found


def _pip() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("pip") is None:
        raise CanfarError(
            f"there is no pip beside canfar ({sys.executable}); add it with: "
            f"{sys.executable} -m ensurepip"
        )
    return [sys.executable, "-m", "pip"]
