"""The test suite runs with a home folder of its own: a test run leaves the user's home as it was
(no ``~/.ipython`` from the notebook tests, no ``~/.config/canfar``)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path


def test_processes_started_by_tests_have_a_temporary_home() -> None:
    real_home = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    seen = subprocess.run(
        [sys.executable, "-c", "import pathlib; print(pathlib.Path.home().resolve())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    home = Path(seen)
    assert home != real_home
    assert home.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert Path.home().resolve() == home
