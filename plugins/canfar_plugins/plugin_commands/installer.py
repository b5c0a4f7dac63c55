"""The command lines that install and remove plugin packages beside canfar.

Which installer owns canfar's environment is the one answer the install hints use too
(:func:`canfar_plugins._support.installer.installer`). Under pipx, packages go in with
``pipx inject``, so that pipx keeps them on upgrades; anywhere else, the pip of canfar's own
interpreter installs them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field

from canfar_core.errors import CanfarError


@dataclass(frozen=True)
class PluginInstaller:
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


def plugin_installer(pip_options: tuple[str, ...] = ()) -> PluginInstaller:
    """The installer of the environment canfar runs in, passing ``pip_options`` to pip.

    Under pipx, the environment's name is its folder's name (``canfar`` unless pipx was told
    another with ``--suffix``).
    """
    from canfar_plugins._support.installer import installer

    name = installer().name
    environment = os.path.basename(sys.prefix.rstrip(os.sep)) if name == "pipx" else ""
    return PluginInstaller(name, environment, pip_options)


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
