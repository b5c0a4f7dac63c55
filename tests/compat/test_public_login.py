"""A login made with the public client (``~/.canfar/config.yaml``) never lets a job run here
by mistake: it is used when it can be, refused with the fix when it cannot."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
import yaml

from canfar.errors import ConfigError
from canfar.sessions import Session


def write_public_config(home: Path, *, url: str, auth: dict, server: str = "src-uk") -> Path:
    """The public client's config file, laid out as its documentation describes it."""
    idp = auth["idp"]
    document = {
        "version": 2,
        "active": {"authentication": idp, "server": server, "servers": {}},
        "authentication": {idp: auth},
        "servers": {
            server: {"name": server, "idp": idp, "url": url, "version": "v1", "auths": ["oidc"]}
        },
        "registry": {},
        "console": {"width": 120, "banner": True},
    }
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def oidc(access: str, expires: float, refresh: str | None = None) -> dict:
    record = {
        "idp": "srcnet",
        "mode": "oidc",
        "token": {"access": access},
        "expiry": {"access": expires},
        "endpoints": {
            "discovery": "https://idp.invalid/.well-known/openid-configuration",
            "token": "https://idp.invalid/token",
        },
        "client": {"identity": "client-1", "secret": "client-secret"},
    }
    if refresh:
        record["token"]["refresh"] = refresh
    return record


@pytest.fixture
def home(canfar_home) -> Path:
    return Path(os.environ["HOME"])


def our_files(canfar_home: Path) -> tuple[dict, dict, int]:
    folder = canfar_home / "config" / "canfar"
    secrets = folder / "credentials.json"
    return (
        json.loads((folder / "config.json").read_text()),
        json.loads(secrets.read_text()),
        stat.S_IMODE(secrets.stat().st_mode),
    )


def test_without_any_login_sessions_run_here(home):
    with Session() as session:
        assert session.context.backend == "local"


def test_a_usable_login_is_imported_and_used(home, canfar_home, fake_skaha, capsys):
    fake_skaha.add_session(name="theirs")
    write_public_config(home, url=fake_skaha.url, auth=oidc(fake_skaha.token, time.time() + 3600))
    with Session() as session:
        found = session.fetch()
    assert [s["name"] for s in found] == ["theirs"]
    assert fake_skaha.requests_to("GET")[-1].header("Authorization") == f"Bearer {fake_skaha.token}"
    said = capsys.readouterr().err
    assert "~/.canfar/config.yaml" in said
    assert "src-uk" in said
    assert fake_skaha.token not in said
    saved, secrets, mode = our_files(canfar_home)
    assert saved["active"] == "src-uk"
    assert saved["contexts"]["src-uk"]["url"] == fake_skaha.url
    assert secrets["src-uk"]["access_token"] == fake_skaha.token
    assert mode == 0o600
    assert fake_skaha.token not in json.dumps(saved)


def test_the_import_happens_once(home, fake_skaha, capsys):
    write_public_config(home, url=fake_skaha.url, auth=oidc(fake_skaha.token, time.time() + 3600))
    Session().close()
    capsys.readouterr()
    with Session() as session:
        assert session.context.name == "src-uk"
    assert capsys.readouterr().err == ""


def test_a_refreshable_login_keeps_what_refreshing_needs(home, canfar_home, fake_skaha):
    write_public_config(home, url=fake_skaha.url, auth=oidc("old", time.time() - 60, "refresh-1"))
    with Session() as session:
        assert session.context.auth == "oidc"
    _, secrets, _ = our_files(canfar_home)
    entry = secrets["src-uk"]
    assert entry["refresh_token"] == "refresh-1"
    assert entry["client_id"] == "client-1"
    assert entry["issuer"] == "https://idp.invalid"
    assert entry["token_endpoint"] == "https://idp.invalid/token"


def test_a_certificate_login_is_imported_with_its_path(home, canfar_home, fake_skaha):
    cert = home / ".ssl" / "cadcproxy.pem"
    cert.parent.mkdir()
    cert.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    record = {"idp": "cadc", "mode": "x509", "path": str(cert), "expiry": 0.0}
    write_public_config(home, url=fake_skaha.url, auth=record, server="canfar-uv")
    with Session() as session:
        assert session.context.auth == "x509"
    saved, _, _ = our_files(canfar_home)
    assert saved["contexts"]["canfar-uv"]["options"] == {"cert": str(cert)}


@pytest.mark.parametrize(
    ("auth", "named"),
    [
        (oidc("old", 1.0), "tokens have expired"),
        ({"idp": "cadc", "mode": "x509", "path": "/nowhere/cert.pem"}, "is missing"),
    ],
)
def test_an_unusable_login_is_refused_with_the_fix(home, canfar_home, auth, named):
    write_public_config(home, url="https://sp.invalid/skaha", auth=auth)
    with pytest.raises(ConfigError) as caught:
        Session()
    message = str(caught.value)
    assert "~/.canfar/config.yaml" in message
    assert named in message
    assert "run: canfar auth login --url https://sp.invalid/skaha --auth" in message
    assert "\n" not in message
    assert not (canfar_home / "config" / "canfar" / "config.json").exists()


def test_the_command_line_refuses_instead_of_running_here(home, canfar_home, run):
    write_public_config(home, url="https://sp.invalid/skaha", auth=oidc("old", 1.0))
    result = run("create", "headless", "python:3", "--", "true")
    assert result.code == 1
    assert result.out == ""
    (line,) = result.err.strip().splitlines()
    assert line.startswith("Error: found a login of the public canfar client")
    assert not (canfar_home / "state" / "canfar").exists() or not any(
        (canfar_home / "state" / "canfar").iterdir()
    )


def test_a_broken_file_is_refused_not_ignored(home):
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir()
    path.write_text("active: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Session()


def test_choosing_this_machine_deliberately_never_reads_the_file(home, run):
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir()
    path.write_text("active: [unclosed\n")
    assert run("auth", "switch", "local").code == 0
    with Session() as session:
        assert session.context.backend == "local"


def test_the_local_backend_by_environment_never_reads_the_file(home, monkeypatch):
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir()
    path.write_text("active: [unclosed\n")
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    with Session() as session:
        assert session.context.backend == "local"


@pytest.mark.parametrize("logout", [("auth", "logout"), ("auth", "purge", "--force")])
def test_a_logout_is_remembered_the_public_login_is_not_imported_again(
    home, canfar_home, fake_skaha, run, logout
):
    fake_skaha.add_session(name="theirs")
    write_public_config(home, url=fake_skaha.url, auth=oidc(fake_skaha.token, time.time() + 3600))
    assert run("ps", "-q").out.split() == [s.id for s in fake_skaha.live_sessions()]  # imported
    out = run(*logout)
    assert out.code == 0, out.err
    assert "Sessions now run on this machine" in out.err
    listed = run("ps", "--all")
    assert listed.code == 0, listed.err
    assert "No sessions on local" in listed.err
    assert "public canfar client" not in listed.err
    assert our_files(canfar_home)[0].get("active") == "local"
    with Session() as session:
        assert session.context.backend == "local"
    assert run("auth", "logout").code != 0  # nothing left to log out of


def test_a_login_after_a_logout_is_used_again(home, canfar_home, fake_skaha, run):
    write_public_config(home, url=fake_skaha.url, auth=oidc(fake_skaha.token, time.time() + 3600))
    assert run("ps").code == 0
    assert run("auth", "logout").code == 0
    login = run("auth", "login", "--url", fake_skaha.url, "--token-stdin", stdin=fake_skaha.token)
    assert login.code == 0, login.err
    with Session() as session:
        assert session.context.backend == "canfar"


def test_backend_local_for_one_command_never_reads_the_file(home, canfar_home, fake_skaha, run):
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir()
    path.write_text("active: [unclosed\n")
    listed = run("ps", "--backend", "local")
    assert listed.code == 0, listed.err
    assert "public canfar client" not in listed.err
    write_public_config(home, url=fake_skaha.url, auth=oidc(fake_skaha.token, time.time() + 3600))
    assert run("ps", "--backend", "local").code == 0
    saved = canfar_home / "config" / "canfar" / "config.json"
    assert not saved.exists() or not json.loads(saved.read_text()).get("contexts")  # no import


def test_defaults_backend_local_never_reads_the_file(home, run):
    path = home / ".canfar" / "config.yaml"
    path.parent.mkdir()
    path.write_text("active: [unclosed\n")
    assert run("config", "set", "defaults.backend", "local").code == 0
    listed = run("ps")
    assert listed.code == 0, listed.err
    assert "sessions on local" in listed.err
    with Session() as session:
        assert session.context.backend == "local"
