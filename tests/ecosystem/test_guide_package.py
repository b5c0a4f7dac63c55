"""The complete plugin package at the top of docs/plugins.md works when copied: its three files
are taken from the page, installed with ``canfar plugins install`` (offline) into a throwaway
environment, its own test is run there, and it is uninstalled."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.core.beside import make_venv_beside

ROOT = Path(__file__).resolve().parents[2]
FILES = ("pyproject.toml", "canfar_hello.py", "tests/test_hello.py")
CANFAR = "import sys; from canfar_core.cli import main; sys.exit(main(sys.argv[1:]))"


def guide_files() -> dict[str, str]:
    """Each file of the guide's package, by the path its block's first line names."""
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = page.split("## A complete plugin package", 1)[1].split("\n## ", 1)[0]
    found = {}
    for block in re.findall(r"```(?:toml|python)\n(.*?)```", section, re.S):
        first = block.splitlines()[0]
        found[first.removeprefix("# ")] = block
    return found


def run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANFAR_", "PIP_"))}
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_the_guide_shows_the_three_files_of_its_package():
    assert sorted(guide_files()) == sorted(FILES)


@pytest.mark.slow
def test_the_guides_package_installs_passes_its_test_and_uninstalls(tmp_path):
    package = tmp_path / "canfar-hello"
    for name, text in guide_files().items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    python = make_venv_beside(tmp_path / "venv")

    installed = run(
        python, "-c", CANFAR, "plugins", "install", "--no-index", "--no-build-isolation",
        str(package),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout == "Added plugin 'hello' 0.1.0: canfar_register_commands\n"

    tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout

    removed = run(python, "-c", CANFAR, "plugins", "uninstall", "hello")
    assert (removed.returncode, removed.stdout) == (0, "Removed canfar-hello ('hello').\n")
    gone = run(python, "-c", CANFAR, "hello")
    assert gone.returncode == 2
    assert "No such command 'hello'" in gone.stderr
