"""Fixtures for the canfar backend's tests: the fake Skaha service, fast HTTP retries, only the
built-in plugins, and ``run`` which calls ``canfar`` in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeskaha.fixtures import fake_skaha, skaha_context

__all__ = ["fake_skaha", "skaha_context"]


def _third_party_plugins() -> list[str]:
    from importlib.metadata import entry_points

    names = set()
    for ep in entry_points(group="canfar"):
        dist = getattr(ep, "dist", None)
        if dist is not None and dist.metadata["Name"] != "canfar":
            names.add(dist.metadata["Name"])
    return sorted(names)


@pytest.fixture(autouse=True)
def _builtin_plugins_only(canfar_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Installed example plugins (a site policy, extra env) must not change what is sent.

    Every test here also gets ``canfar_home``: none touches the real config."""
    from canfar_core.manager import reset_manager

    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", ",".join(_third_party_plugins()))
    reset_manager()
    yield
    reset_manager()


@pytest.fixture(autouse=True)
def _fast_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries and timeouts small enough that failure tests take milliseconds."""
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "5")
