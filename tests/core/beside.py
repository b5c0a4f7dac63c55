"""A throwaway virtual environment that sees this one's packages (canfar among them) through a
``.pth`` file, but has its own pip and site-packages: what canfar installs there stays there.

Made offline by the standard library's ``venv``, without the pip it bundles: this venv's pip
and setuptools (new enough to build wheels) serve it, and install into it.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


def make_venv_beside(folder: Path) -> Path:
    """A venv in ``folder`` whose Python also sees this venv's packages; returns its python."""
    done = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot make a virtual environment here: {done.stderr.strip()[-200:]}")
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_path("purelib")
    # addsitedir, not a bare path: this venv's own .pth files (canfar installed editable) count.
    (Path(purelib) / "zz_beside.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n", encoding="utf-8"
    )
    return python
