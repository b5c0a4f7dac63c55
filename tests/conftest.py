"""Set-up shared by every test: nothing reads or writes the real user's canfar files.

Before any test runs, the home, config, state, data and cache folders point into a temporary
folder and the ``CANFAR_*`` variables of the developer's shell are dropped, so that a test which
forgot the ``canfar_home`` fixture (and every ``canfar`` process a test starts) still cannot touch
``~/.config/canfar``, read the public client's ``~/.canfar`` login, or talk to the server the
developer is logged in to.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

# On CI every run draws the same examples, so a landing never depends on luck; on a developer's
# machine each run explores new ones (run with CI=true to reproduce what CI saw).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

_ISOLATED = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
_DROPPED = ("REPLICA_ID", "REPLICA_COUNT")
_home: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _home
    _home = tempfile.mkdtemp(prefix="canfar-tests-")
    for variable in _ISOLATED:
        os.environ[variable] = os.path.join(_home, variable.lower())
    os.environ["HOME"] = os.path.join(_home, "home")
    os.makedirs(os.environ["HOME"])
    for variable in list(os.environ):
        if variable.startswith("CANFAR_") or variable in _DROPPED:
            del os.environ[variable]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)
