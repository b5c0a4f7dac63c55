"""``canfar.login`` / ``canfar.alogin`` and ``canfar.authentication``, as a notebook calls them,
against the fake identity provider and the fake service: the same logins the command makes."""

from __future__ import annotations

import asyncio
import json
import stat
from dataclasses import dataclass

import pytest

import canfar
from canfar import authentication
from canfar.errors import CanfarError
from canfar.sessions import Session
from canfar_core import hookimpl
from canfar_core.models import Server
from tests.skaha.fakeidp import FakeIdP


@dataclass(frozen=True)
class OidcServer(Server):
    issuer: str | None = None


@pytest.fixture
def idp() -> FakeIdP:
    server = FakeIdP(pending_polls=0).start()
    yield server
    server.stop()


def offer(canfar_plugin, monkeypatch, fake_skaha, issuer: str) -> None:
    """The registries list the fake service's token login; a site plugin its OIDC server."""
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"token={fake_skaha.registry_url}")

    class Site:
        @hookimpl
        def canfar_discover_servers(self):
            return OidcServer("src-test", fake_skaha.url, auth="oidc", issuer=issuer)

    canfar_plugin(Site(), name="src-servers")


@pytest.fixture
def srcnet(fake_skaha, idp, canfar_plugin, monkeypatch):
    fake_skaha.validator = lambda token: "jdoe" if token.count(".") == 2 else None
    for variable in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(variable, raising=False)
    offer(canfar_plugin, monkeypatch, fake_skaha, idp.issuer)
    return fake_skaha


def credentials(canfar_home) -> tuple[dict, int]:
    path = canfar_home / "config" / "canfar" / "credentials.json"
    return json.loads(path.read_text()), stat.S_IMODE(path.stat().st_mode)


def test_login_saves_a_context_with_private_credentials(srcnet, idp, canfar_home, capsys):
    assert canfar.login("srcnet") is True
    shown = capsys.readouterr()
    saved, mode = credentials(canfar_home)
    assert mode == 0o600
    assert "src-test" in saved
    assert "WXYZ-1234" in shown.err  # the device code was shown
    for secret in ("access_token", "refresh_token"):
        assert saved["src-test"][secret] not in shown.err + shown.out
    assert [c.name for c in authentication.list()] == ["src-test"]
    assert authentication.show().url == srcnet.url
    with Session() as session:
        assert session.context.name == "src-test"


def test_a_second_login_keeps_the_first_and_force_makes_a_new_one(srcnet, idp):
    assert canfar.login("srcnet") is True
    devices = len(idp.devices)
    assert canfar.login("srcnet") is True
    assert len(idp.devices) == devices  # kept: no new device authorization
    assert canfar.login("srcnet", force=True) is True
    assert len(idp.devices) == devices + 1


def test_alogin_logs_in_while_the_event_loop_runs(srcnet, idp):
    async def main() -> tuple[bool, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.ensure_future(tick())
        done = await canfar.alogin("srcnet")
        ticker.cancel()
        return done, ticks

    done, ticks = asyncio.run(main())
    assert done is True
    assert ticks > 1
    assert [c.name for c in authentication.list()] == ["src-test"]


def test_an_unknown_identity_provider_is_a_key_error(srcnet):
    with pytest.raises(KeyError):
        canfar.login("nowhere")
    with pytest.raises(KeyError):
        authentication.use("nowhere")
    with pytest.raises(KeyError):
        authentication.remove("nowhere", force=True)


def test_an_unreachable_issuer_is_an_authentication_error(
    fake_skaha, canfar_plugin, monkeypatch, canfar_home
):
    offer(canfar_plugin, monkeypatch, fake_skaha, "http://127.0.0.1:9/")
    with pytest.raises(authentication.AuthenticationError) as raised:
        canfar.login("srcnet")
    assert isinstance(raised.value, CanfarError)
    assert authentication.list() == []


def test_use_remove_and_purge(srcnet, idp, fake_skaha):
    with pytest.raises(authentication.AuthenticationError):
        authentication.use("srcnet")  # not logged in yet
    with pytest.raises(authentication.AuthenticationError):
        authentication.show()
    canfar.login("srcnet")
    canfar.server.use("local")
    with pytest.raises(authentication.AuthenticationError):
        authentication.show()
    authentication.use("srcnet")
    assert authentication.show().name == "src-test"
    with pytest.raises(authentication.AuthenticationError):
        authentication.remove("srcnet")  # the active one, without force
    assert [c.name for c in authentication.list()] == ["src-test"]
    authentication.remove("srcnet", force=True)
    assert authentication.list() == []
    canfar.login("srcnet")
    with pytest.raises(authentication.AuthenticationError):
        authentication.purge()
    assert len(authentication.list()) == 1
    authentication.purge(force=True)
    assert authentication.list() == []
    with Session() as session:
        assert session.context.backend == "local"
