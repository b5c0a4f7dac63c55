"""A strategy added by a pip-installed package is usable by name, with no change to canfar.

The package is tests/fixtures/strategy_plugin (strategy ``hash``: item -> replica
``crc32(str(item)) % count + 1``). It is installed with pip, offline, into a temporary folder
that a fresh Python process then finds on PYTHONPATH, exactly as an installed plugin is found.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "strategy_plugin"

RUN = """
import json
from canfar.helpers import distributed
shares = [list(distributed.split(range(200), "hash", replica, 3)) for replica in (1, 2, 3)]
print(json.dumps({"strategies": distributed.strategies(), "shares": shares}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(PACKAGE),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _run(code: str, pythonpath: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLICA_", "CANFAR_"))}
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_an_installed_plugin_strategy_runs_by_name(installed: Path) -> None:
    done = _run(RUN, installed)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "hash" in result["strategies"]
    assert result["strategies"][:2] == ["chunk", "stripe"]
    expected = [
        [i for i in range(200) if zlib.crc32(str(i).encode()) % 3 + 1 == replica]
        for replica in (1, 2, 3)
    ]
    assert result["shares"] == expected
    assert all(result["shares"])  # every replica got work


def test_without_the_package_the_name_is_unknown_and_the_error_lists_the_known_ones() -> None:
    done = _run(RUN, None)
    assert done.returncode != 0
    assert re.search(r"unknown strategy 'hash' \(known: [^)]*chunk, [^)]*stripe", done.stderr)


def test_the_plugin_strategy_gets_a_validated_position(installed: Path) -> None:
    code = "from canfar.helpers import distributed\ndistributed.split([1, 2], 'hash', 4, 3)"
    done = _run(code, installed)
    assert "ValueError" in done.stderr or "ValidationError" in done.stderr
    assert "replica=4 is out of range: with count=3" in done.stderr
