"""How canfar was installed, and so the command that adds a package beside it.

canfar is installed with pipx (its own environment, marked by ``pipx_metadata.json``) or with
pip into a virtual environment or an interpreter. An install hint names the command for the
way it was installed: ``pipx inject canfar PKG``, or the pip of canfar's own interpreter, never
a bare ``pip install canfar[...]`` (which, outside canfar's environment, would fetch the public
client of the same name from the package index).
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass

#: The file pipx writes into every environment it makes.
PIPX_MARKER = "pipx_metadata.json"


@dataclass(frozen=True)
class Installer:
    """``pipx`` or ``pip``; ``python`` is canfar's own interpreter."""

    name: str
    python: str

    def argv(self, *packages: str) -> list[str]:
        """The command that installs ``packages`` where canfar can import them."""
        if self.name == "pipx":
            return ["pipx", "inject", "canfar", *packages]
        return [self.python, "-m", "pip", "install", *packages]

    def command(self, *packages: str) -> str:
        """:meth:`argv` as a line to paste into a shell."""
        return shlex.join(self.argv(*packages))


def installer(prefix: str | None = None) -> Installer:
    """How the canfar running here was installed."""
    root = sys.prefix if prefix is None else prefix
    name = "pipx" if os.path.exists(os.path.join(root, PIPX_MARKER)) else "pip"
    return Installer(name=name, python=sys.executable)
