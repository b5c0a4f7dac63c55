"""Fixtures of the tests of code written for the public canfar client: the fake Skaha service,
only the built-in plugins, and ``run`` which calls ``canfar`` in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeskaha.fixtures import fake_skaha, skaha_context

__all__ = ["fake_skaha", "skaha_context"]


@pytest.fixture(autouse=True)
def _builtin_plugins_only(canfar_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Installed example plugins must not change what is sent; no test touches the real home."""
    from importlib.metadata import entry_points

    from canfar_core.manager import reset_manager

    others = {
        ep.dist.metadata["Name"]
        for ep in entry_points(group="canfar")
        if ep.dist is not None and ep.dist.metadata["Name"] != "canfar"
    }
    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", ",".join(sorted(others)))
    reset_manager()
    yield
    reset_manager()
