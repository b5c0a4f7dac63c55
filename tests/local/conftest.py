"""Fixtures for the local backend: an isolated state folder, and no process left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canfar.sessions import Session
from canfar_core.models import FINAL_STATUSES


def _kill_everything(root: Path) -> None:
    """SIGKILL every process group the local database knows, whatever its status."""
    from canfar_plugins.local import processes
    from canfar_plugins.local.state import Store

    if not (root / "sessions.sqlite3").exists():
        return
    store = Store(root)
    for record in store.all():
        if record.pgid is not None and processes.group_alive(record.pgid, record.start_mark):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(record.pgid, signal.SIGKILL)
    store.close()


@pytest.fixture
def state_root(canfar_home: Path) -> Path:
    """Where the local backend keeps its database, logs and exit codes in this test."""
    from canfar_core.config import state_dir

    return state_dir() / "local"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory: replicas run in the directory they were created from."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def session(state_root: Path, workdir: Path) -> Iterator[Session]:
    """A Session on the local backend; every process it (or a canfar command) started is killed."""
    api = Session(backend="local")
    api.backend.grace = 0.5  # type: ignore[attr-defined]
    try:
        yield api
    finally:
        _kill_everything(state_root)


def wait_final(api: Session, ids: list[str], timeout: float = 15.0) -> dict:
    """Wait until every session has ended; returns their infos by id."""
    return api.wait(ids, status=FINAL_STATUSES, timeout=timeout, poll=0.02)


def group_pids(pgid: int) -> list[int]:
    """Processes still in group ``pgid``, read from /proc (zombies excluded)."""
    from canfar_plugins.local import processes

    return processes.group_members([pgid])[pgid]


def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def canfar_command(*args: str) -> list[str]:
    """The installed ``canfar`` command (its console script when there is one)."""
    script = Path(sys.executable).with_name("canfar")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "canfar_core.cli", *args]


linux_only = pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="reads process groups from /proc"
)


@pytest.fixture(autouse=True)
def _no_runtime_note_given_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: the no-container-runtime note not yet given."""
    from canfar_plugins.local import backend

    monkeypatch.setattr(backend, "_said_no_container_runtime", False)
