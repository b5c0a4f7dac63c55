"""A plugin of this repository never resolves to the public client of the same name.

The package index's ``canfar`` (1.x) is another program. Every plugin here requires this
project's range (2.x), so installing one where only the public client can be found fails with
pip's own message instead of installing the wrong ``canfar``. Offline: the "index" is a folder
holding stand-in ``canfar`` wheels of the public client's versions (1.5.2, 0.8.0).
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from canfar_core import __version__

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(p.parent for p in (ROOT / "plugins").glob("canfar-*/pyproject.toml"))


def stand_in_wheel(folder: Path, version: str = "1.5.2") -> Path:
    """A minimal, valid wheel named ``canfar`` at ``version`` (it holds one empty module)."""
    name = f"canfar-{version}"
    files = {
        "canfar/__init__.py": b"",
        f"{name}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: canfar\nVersion: {version}\n".encode()
        ),
        f"{name}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    files[f"{name}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def test_this_project_is_past_the_public_clients_line():
    assert int(__version__.split(".")[0]) >= 2


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda p: p.name)
def test_every_plugin_here_requires_this_projects_range(folder: Path):
    text = (folder / "pyproject.toml").read_text()
    dependencies = re.search(r"^dependencies = \[(.*)\]$", text, re.MULTILINE)
    assert dependencies is not None
    listed = re.findall(r'"([^"]+)"', dependencies.group(1))
    wanted = [d for d in listed if re.match(r"canfar\b(?![-_])", d)]
    assert wanted == ["canfar>=2,<3"], f"{folder.name} depends on {wanted}"


def test_the_plugin_guide_shows_the_same_range():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    assert 'dependencies = ["canfar>=2,<3"]' in guide


@pytest.mark.slow
def test_pip_refuses_the_public_client_for_the_slurm_plugin(tmp_path: Path):
    index = tmp_path / "index"
    index.mkdir()
    stand_in_wheel(index, "1.5.2")
    stand_in_wheel(index, "0.8.0")  # the early release a range below 1 picked up
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    offline = ["--no-index", "--find-links", str(index)]
    # The plugin as a wheel (built here, offline), then installed alone into a fresh venv.
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(index)]
    subprocess.run(
        [*pip, *build, *offline, str(ROOT / "plugins" / "canfar-slurm")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    done = subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", *offline, "canfar-slurm"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout
    assert "canfar<3,>=2" in done.stderr
    assert "No matching distribution found for canfar" in done.stderr
    installed = list((venv / "lib").glob("python*/site-packages/canfar*"))
    assert installed == []
