"""Set-up shared by every test: nothing reads or writes the real user's files.

Before any test runs, the home folder and the config, state, data and cache folders point into a
temporary folder and the ``CANFAR_*`` variables of the developer's shell are dropped, so that a
test which forgot the ``canfar_home`` fixture (and every process a test starts: ``canfar``,
Jupyter, ...) still cannot touch ``~/.config/canfar``, read the public client's login in
``~/.canfar``, leave files such as ``~/.ipython`` behind, or talk to the server the developer is
logged in to.
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

_ISOLATED = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
_DROPPED = ("REPLICA_ID", "REPLICA_COUNT")
_home: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _home
    _home = tempfile.mkdtemp(prefix="canfar-tests-")
    for variable in _ISOLATED:
        os.environ[variable] = os.path.join(_home, variable.lower())
    os.mkdir(os.environ["HOME"])
    for variable in list(os.environ):
        if variable.startswith("CANFAR_") or variable in _DROPPED:
            del os.environ[variable]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _logging_as_found():
    """A command run in-process with ``--debug`` or ``--log-file`` configures canfar's logger;
    the next test starts without those handlers (which may hold a closed capture stream)."""
    yield
    import logging

    logger = logging.getLogger("canfar")
    for handler in list(logger.handlers):
        if getattr(handler, "_canfar_handler", False):
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
