"""pytest fixtures around :class:`~tests.fakeskaha.FakeSkaha`.

Import them into a conftest (``from tests.fakeskaha.fixtures import fake_skaha, skaha_context``)
or list this module in a top-level conftest's ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeskaha.server import FakeSkaha


@pytest.fixture
def fake_skaha() -> Iterator[FakeSkaha]:
    """A fresh fake Skaha service on a free loopback port, stopped after the test."""
    server = FakeSkaha().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def skaha_context(canfar_home: Path, fake_skaha: FakeSkaha) -> str:
    """A saved context named ``fake`` for the fake service, active, with a valid token.

    Writes the config and credentials exactly as ``canfar auth login --url URL --token-stdin``
    does; returns the context's name.
    """
    from canfar_core import config

    store = config.config_file()
    data = store.read()
    data.setdefault("contexts", {})["fake"] = {
        "backend": "canfar",
        "url": fake_skaha.url,
        "auth": "token",
    }
    data["active"] = "fake"
    store.write(data)
    credentials = config.credentials_file()
    secrets = credentials.read()
    secrets["fake"] = {"token": fake_skaha.token}
    credentials.write(secrets)
    return "fake"
