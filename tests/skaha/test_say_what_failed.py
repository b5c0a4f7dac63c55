"""Failures that name what failed: a dead proxy is named as the proxy, and a server list made
without any registry says it is the built-in fallback, and why."""

from __future__ import annotations

import pytest

DEAD = "http://127.0.0.1:9"


@pytest.fixture
def dead_proxy(monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, DEAD)


def test_a_dead_proxy_is_named_not_the_server(run, skaha_context, fake_skaha, dead_proxy):
    result = run("ps")
    assert result.code == 1
    line = result.err.strip()
    assert line.startswith(f"Error: cannot connect to {DEAD}, the proxy for 127.0.0.1:")
    assert line.endswith("(check HTTP_PROXY)")
    assert fake_skaha.requests == []


def test_the_builtin_server_list_says_it_is_the_fallback_and_why(run, dead_proxy):
    result = run("server", "ls")
    assert result.code == 0
    warning = [line for line in result.err.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1
    assert "no server registry answered" in warning[0]
    assert f"cannot connect to the proxy {DEAD}" in warning[0]
    assert warning[0].endswith("showing the built-in server list")
    assert "ws-uv.canfar.net" in result.out


def test_an_unreachable_registry_of_ones_own_is_named(run, monkeypatch):
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"{DEAD}/reg/resource-caps")
    result = run("server", "ls")
    assert f"no server registry answered ({DEAD}/reg/resource-caps: connection refused)" in (
        result.err
    )
    assert "none are shown" in result.err
