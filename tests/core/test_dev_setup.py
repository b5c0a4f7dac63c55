"""The development set-up leaves the README's ``.venv`` alone.

The README makes ``.venv`` with plain canfar (built-in plugins only) to run jobs; ``make`` builds
its own environment for the development tools and the example plugins, which change behaviour
(resource caps, extra environment variables, a ``site`` command). Every target is dry-run
(``make -n``) on a copy of the files it reads, and no command it would run may name ``.venv``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PHONY = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
#: Every target the Makefile declares (a new one is checked too).
TARGETS = tuple(_PHONY.group(1).split()) if _PHONY else ()


def test_the_makefile_declares_its_targets() -> None:
    assert {"install", "test", "test-lowest", "lint"} <= set(TARGETS)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml", "docs/requirements.txt"):
        if (ROOT / name).exists():
            (tmp_path / name).parent.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, tmp_path / name)
    for example in ROOT.glob("plugins/canfar-*/pyproject.toml"):
        target = tmp_path / example.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(example, target)
    return tmp_path


def _dry_run(checkout: Path, target: str) -> str:
    # Under `make test VENV=...` the variables given to that make reach this one through the
    # environment (MAKEFLAGS, and each variable by its own name): the defaults are what is
    # checked here, so only what finding the programs needs is passed on.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    done = subprocess.run(
        ["make", "-n", target], cwd=checkout, capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_no_make_target_touches_the_readme_venv(checkout: Path, target: str) -> None:
    commands = _dry_run(checkout, target)
    named = re.findall(r"(?<![\w.-])\.venv(?=/|\s|$)", commands, flags=re.MULTILINE)
    assert not named, f"`make {target}` would use the README's .venv:\n{commands}"


def test_make_install_puts_the_example_plugins_in_the_test_venv(checkout: Path) -> None:
    commands = _dry_run(checkout, "install")
    install = [line for line in commands.splitlines() if "-e ./plugins/canfar-" in line]
    assert install, commands
    assert all(line.startswith(".venv-test/bin/python -m pip install") for line in install)


def test_the_readme_names_the_pythons_ci_tests() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = re.search(r"tested on ([\d., and]+)\)", readme)
    assert named, "the README no longer says which Python versions are tested"
    in_readme = re.findall(r"3\.\d+", named.group(1))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    tested = re.search(r"^TESTED_PYTHONS=\(([^)]*)\)", ci, flags=re.MULTILINE)
    assert tested, ".ci/run no longer lists TESTED_PYTHONS"
    assert in_readme == tested.group(1).split()
