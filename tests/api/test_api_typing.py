"""The public API is typed: mypy --strict accepts the example script and catches misuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "typed_usage.py"

MISUSE = """
from canfar.sessions import Session

session = Session()
ids: list[int] = session.create(image="skaha/astroml:latest", cmd="true")
status: int = session.info("abc", errors="raise")[0].status
session.destroy_with(prefix=3)
"""


@pytest.mark.slow
def test_mypy_accepts_the_example_and_rejects_misuse(tmp_path):
    misuse = tmp_path / "misuse.py"
    misuse.write_text(MISUSE)
    # As for an installed package: the user's files are checked, canfar's own are only read.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            str(EXAMPLE),
            str(misuse),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = result.stdout.splitlines()
    assert not [line for line in lines if "typed_usage.py" in line], result.stdout
    misuse_errors = [line for line in lines if "misuse.py" in line and "error:" in line]
    assert len(misuse_errors) == 3, result.stdout
    assert result.returncode == 1
