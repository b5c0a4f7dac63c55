"""Every install command in the documentation works as written from a checkout: it installs
local paths (this checkout, its plugin folders), never a bare name the package index would
answer with the public client of the same name. The Slurm page's command is run, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.offline import checkout_copy, offline_wheels

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "plugins").glob("canfar-*/README.md")),
]
COMMAND = re.compile(r"(?:\S*/)?(pipx? (?:install|inject)) ([^`#)\n]*)")
#: Names from the package index that a page installs on purpose, and why.
FROM_THE_INDEX = {
    "jupyterlab": "JupyterLab itself",
    "fsspec": "the filesystem interface of canfar data, injected beside a pipx install",
    "canfar==1.5.2": "the public client, installed as the peer the benchmarks compare with",
    "canfar-slurm": "said of the day canfar-slurm is published",
    "canfar[slurm]": "an extra the Slurm plugin's README explains does not exist",
}


def install_commands() -> list[tuple[str, str, list[str]]]:
    """``(page, command, targets)`` of every install command the pages show."""
    found = []
    for page in PAGES:
        if page.name == "changelog.md":
            continue
        for verb, rest in COMMAND.findall(page.read_text("utf-8")):
            words = [w.strip("'\"") for w in rest.split() if not w.startswith("-")]
            words = words[: next((i for i, w in enumerate(words) if w in ("&&", ";")), None)]
            if verb == "pipx inject":
                words = words[1:]  # the environment's name: canfar
            found.append((page.name, f"{verb} {rest.strip()}", words))
    return found


def test_the_pages_show_install_commands():
    assert len(install_commands()) >= 10


def test_every_install_command_installs_from_the_checkout():
    wrong = []
    for page, command, targets in install_commands():
        for target in targets:
            if target in FROM_THE_INDEX:
                continue
            path = ROOT / re.sub(r"\[.*\]$", "", target)
            if not target.startswith(".") or not (path / "pyproject.toml").exists():
                wrong.append(f"{page}: {command!r} installs {target!r}")
    assert not wrong, "install from local paths, as a checkout has them:\n" + "\n".join(wrong)


@pytest.mark.slow
def test_the_slurm_pages_install_command_works_offline(tmp_path: Path):
    [command] = [c for p, c, _ in install_commands() if p == "slurm.md" and "pip install" in c]
    assert command.startswith("pip install . ./plugins/canfar-slurm")
    checkout = checkout_copy(tmp_path / "canfar", extra=("plugins/canfar-slurm",))
    wheels = offline_wheels(tmp_path / "wheels")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    offline = ["--no-index", "--find-links", str(wheels), "--disable-pip-version-check"]
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", *offline, "--quiet", ".", "./plugins/canfar-slurm"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "canfar"), "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "slurm" in {plugin["name"] for plugin in json.loads(listed.stdout)}
