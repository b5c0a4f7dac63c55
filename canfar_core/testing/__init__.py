"""pytest helpers for canfar and its plugins (loaded automatically where canfar is installed).

Fixtures:

``canfar_home``
    Points the home, config and state folders at a temporary directory for one test.
``canfar_plugin``
    A function that registers a plugin object for the duration of one test::

        def test_cap(canfar_plugin):
            canfar_plugin(MyPolicy())
            ...

Classes:

``BackendContract``
    The backend contract as tests, for a backend package to subclass with a ``backend``
    fixture (see :mod:`canfar_core.testing.backend`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canfar_core.testing.backend import BackendContract

__all__ = ["BackendContract", "canfar_home", "canfar_plugin"]


@pytest.fixture
def canfar_home(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An empty, private home, config and state folder; no CANFAR_* variable leaks in.

    ``HOME`` is an empty folder of its own (beside ``tmp_path``, which stays empty): a login of
    the public client (``~/.canfar``) or a certificate (``~/.ssl``) of the person running the
    tests is never read.
    """
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in (
        "CANFAR_URL",
        "CANFAR_TOKEN",
        "CANFAR_BACKEND",
        "CANFAR_CONTEXT",
        "CANFAR_DISABLE_PLUGINS",
        "CANFAR_LOAD_PLUGINS",
        "CANFAR_DEBUG",
        "REPLICA_ID",
        "REPLICA_COUNT",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def canfar_plugin() -> Iterator[Callable[..., str]]:
    """Register plugin objects for one test; they are unregistered when it ends."""
    from canfar_core.manager import get_manager

    manager = get_manager()
    added: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        registered = manager.register(plugin, name=name)
        added.append(registered)
        return registered

    yield register
    for name in reversed(added):
        if manager.pm.has_plugin(name):  # the test may have removed it itself
            manager.unregister(name)
