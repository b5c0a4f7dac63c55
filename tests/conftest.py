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
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from tests.clirun import Result, invoke

# On CI every run draws the same examples, so a landing never depends on luck; on a developer's
# machine each run explores new ones (run with CI=true to reproduce what CI saw). No deadline per
# example: on a busy machine a slow example is not a failure (speed is for the benchmarks).
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

_ISOLATED = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
_DROPPED = ("REPLICA_ID", "REPLICA_COUNT")
_home: str | None = None
_untracked_before: set[str] | None = None


def _untracked(root: Path) -> set[str] | None:
    """Files in the checkout that git neither tracks nor ignores (``None``: no git checkout)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    return set(filter(None, listed.stdout.decode(errors="replace").split("\0")))


def pytest_configure(config: pytest.Config) -> None:
    global _home, _untracked_before
    _untracked_before = _untracked(config.rootpath)
    _home = tempfile.mkdtemp(prefix="canfar-tests-")
    for variable in _ISOLATED:
        os.environ[variable] = os.path.join(_home, variable.lower())
    os.mkdir(os.environ["HOME"])
    for variable in list(os.environ):
        if variable.startswith("CANFAR_") or variable in _DROPPED:
            del os.environ[variable]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that wrote into the checkout (a log, a slurm-*.out) fails the run: tests write
    into their own temporary folders, never where a user's files would be."""
    if _untracked_before is None:
        return
    stray = sorted((_untracked(session.config.rootpath) or set()) - _untracked_before)
    if stray:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"the tests left files in the checkout: {', '.join(stray)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``run("ps", "-q", stdin="y\\n", terminal=True)``: canfar in-process; its exit code,
    stdout and stderr (see :mod:`tests.clirun`)."""

    def call(*argv: str, stdin: str = "", terminal: bool = False) -> Result:
        return invoke(capsys, monkeypatch, list(argv), stdin, terminal)

    return call
