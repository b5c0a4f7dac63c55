"""Local notebooks: JupyterLab on a free loopback port, behind a random token.

The token reaches JupyterLab through ``JUPYTER_TOKEN`` in its environment, never on its command
line (where any user of the machine could read it). Inside a container runtime the image's own
``jupyter lab`` is started; on the host, the ``jupyter-lab`` found next to canfar's interpreter or
on ``PATH``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass

from canfar_core.errors import Unsupported

LOOPBACK = "127.0.0.1"
#: The port JupyterLab listens on inside a container whose port is published.
CONTAINER_PORT = 8888
#: What the notebook extra adds: JupyterLab.
JUPYTERLAB = "jupyterlab>=4,<5"


@dataclass(frozen=True)
class Notebook:
    """What one notebook replica needs: its command, port, token and URL."""

    command: list[str]
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/lab?token={self.token}"


def find_jupyter_lab() -> str | None:
    """The ``jupyter-lab`` to run: beside canfar's interpreter first, then on ``PATH``."""
    beside = os.path.join(os.path.dirname(sys.executable), "jupyter-lab")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("jupyter-lab")


def require_jupyter_lab() -> str:
    """The ``jupyter-lab`` executable, or a clear error saying how to install it."""
    found = find_jupyter_lab()
    if found is None:
        from canfar_plugins._support.installer import installer

        raise Unsupported(
            "JupyterLab is not installed, so the local backend cannot start a notebook",
            hint=f"install it with: {installer().command(JUPYTERLAB)}",
        )
    return found


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def plan(workdir: str, in_container: bool, container_port: int | None = None) -> Notebook:
    """The JupyterLab command for one replica, with a fresh loopback port and token.

    ``in_container`` runs the image's ``jupyter lab``; with ``container_port`` it listens there
    on every interface of the container, whose port is published on the loopback ``port``.
    """
    port = free_port()
    token = secrets.token_urlsafe(24)
    common = ["--no-browser", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={workdir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        common.append("--allow-root")  # JupyterLab refuses root otherwise (CI, containers)
    if not in_container:
        command = [require_jupyter_lab(), f"--ip={LOOPBACK}", f"--port={port}", *common]
    elif container_port is not None:
        command = ["jupyter", "lab", "--ip=0.0.0.0", f"--port={container_port}", *common]
    else:
        command = ["jupyter", "lab", f"--ip={LOOPBACK}", f"--port={port}", *common]
    return Notebook(command=command, port=port, token=token)


def listening(port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts connections on the loopback ``port``."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False
