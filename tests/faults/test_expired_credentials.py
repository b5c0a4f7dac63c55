"""Expired or refused credentials: found before anything is sent when they can be, and the error
names the exact command that fixes them."""

from __future__ import annotations

import shutil
import time

import pytest

from canfar_core import config
from tests.faults.harness import TOKEN, USER
from tests.skaha.fakeidp import make_jwt
from tests.skaha.test_auth_providers import EXPIRED_PEM, KEY, VALID_PEM


def save_context(fake, name: str = "site", auth: str = "token", **options) -> None:
    """A saved, active context for the fake service (as ``canfar auth login`` leaves it)."""
    data = config.config_file().read()
    entry = {"backend": "canfar", "url": fake.url, "auth": auth}
    if options:
        entry["options"] = options
    data.setdefault("contexts", {})[name] = entry
    data["active"] = name
    config.config_file().write(data)
    if auth == "token":
        config.credentials_file().write({name: {"token": fake.token}})


@pytest.fixture
def saved(fake, monkeypatch):
    """The fake service through a saved context instead of the environment."""
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    return fake


def expired_jwt() -> str:
    return make_jwt({"preferred_username": USER, "exp": int(time.time()) - 3600})


def test_an_expired_token_from_the_environment_is_refused_before_sending(run, fake, monkeypatch):
    token = expired_jwt()
    fake.tokens[token] = USER
    monkeypatch.setenv("CANFAR_TOKEN", token)
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "expired on" in line
    assert line.endswith("set CANFAR_TOKEN to a valid token")
    assert token not in result.out + result.err
    assert fake.requests == []


def test_an_expired_saved_token_names_the_login_command(run, saved):
    token = expired_jwt()
    save_context(saved)
    config.credentials_file().write({"site": {"token": token}})
    result = run("create", "headless", "skaha/astroml", "--", "true")
    assert result.code == 1
    line = result.error_line()
    assert "the token of context 'site' expired on" in line
    assert line.endswith(f"canfar auth login --url {saved.url} --token-stdin --name site")
    assert token not in result.err
    assert saved.requests == []


def test_a_token_the_server_refuses_names_the_login_command(run, saved):
    save_context(saved)
    saved.tokens.clear()  # revoked on the server
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "did not accept your credentials" in line
    assert f"canfar auth login --url {saved.url} --token-stdin --name site" in line
    assert len(saved.requests) == 1  # a 401 is never retried


def test_a_refused_token_from_the_environment_says_which_variable(run, fake):
    fake.tokens.clear()
    result = run("ps")
    assert result.code == 1
    assert "set CANFAR_TOKEN to a valid token" in result.error_line()
    assert TOKEN not in result.err


needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="reading certificate dates needs openssl"
)


@needs_openssl
def test_an_expired_certificate_is_refused_before_sending(run, saved, tmp_path):
    cert = tmp_path / "cadcproxy.pem"
    cert.write_text(EXPIRED_PEM + KEY)
    save_context(saved, auth="x509", cert=str(cert))
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert f"certificate {cert} expired on 2024-01-31T00:00:00Z" in line
    assert line.endswith("then run: canfar auth login site")
    assert saved.requests == []


@needs_openssl
def test_a_certificate_renewed_by_another_tool_is_used_at_once(run, saved, tmp_path):
    cert = tmp_path / "cadcproxy.pem"
    cert.write_text(EXPIRED_PEM + KEY)
    save_context(saved, auth="x509", cert=str(cert))
    assert run("ps").code == 1
    cert.write_text(VALID_PEM + KEY)  # as cadc-get-cert would
    result = run("auth", "status")
    assert "expires  2099-12-31T00:00:00Z" in result.out
    assert "has expired" not in result.out


def test_a_missing_certificate_names_the_file_and_the_fix(run, saved, tmp_path):
    cert = tmp_path / "nowhere.pem"
    save_context(saved, auth="x509", cert=str(cert))
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert f"certificate {cert} does not exist" in line
    assert "canfar auth login site" in line
    assert saved.requests == []
