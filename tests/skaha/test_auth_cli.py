"""``canfar auth``: login (scripted and interactive), list, switch, logout, status; discovery."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import click
import pytest

from canfar_core import config, hookimpl
from canfar_core.models import Server
from canfar_plugins.skaha import discovery
from tests.fakeskaha import FakeSkaha
from tests.skaha.fakeidp import FakeIdP


@pytest.fixture
def second() -> Iterator[FakeSkaha]:
    server = FakeSkaha(tokens={"token-of-ann": "ann"}).start()
    yield server
    server.stop()


def login(run, server: FakeSkaha, name: str):
    return run(
        "auth", "login", "--url", server.url, "--token-stdin", "--name", name, stdin=server.token
    )


def test_two_servers_side_by_side(run, fake_skaha, second):
    fake_skaha.add_session(name="on-first")
    second.add_session(name="on-second", user="ann")
    assert login(run, fake_skaha, "first").code == 0
    assert login(run, second, "second").code == 0
    saved = config.config_file().read()
    assert set(saved["contexts"]) == {"first", "second"}
    assert saved["active"] == "second"
    assert "on-second" in run("ps").out
    assert "on-first" in run("--context", "first", "ps").out
    switched = run("auth", "switch", "first")
    assert switched.code == 0
    assert "first" in switched.err
    assert "on-first" in run("ps").out
    listed = json.loads(run("auth", "list", "--json").out)
    assert [(c["name"], c["active"]) for c in listed] == [
        ("first", True),
        ("second", False),
        ("local", False),
    ]
    out = run("auth", "logout", "second")
    assert out.code == 0
    assert set(config.config_file().read()["contexts"]) == {"first"}
    assert "second" not in config.credentials_file().read()
    assert "on-first" in run("ps").out  # the active one is untouched


def test_logout_of_the_active_context_falls_back_to_local(run, fake_skaha):
    login(run, fake_skaha, "fake")
    result = run("auth", "logout")
    assert result.code == 0
    assert "this machine" in result.err
    assert config.config_file().read()["active"] == "local"  # the fallback is remembered
    assert config.credentials_file().read() == {}
    status = json.loads(run("auth", "status", "--json").out)
    assert status["backend"] == "local"


def test_switch_and_logout_of_unknown_names(run, fake_skaha):
    login(run, fake_skaha, "fake")
    result = run("auth", "switch", "nowhere")
    assert result.code == 1
    assert result.err.strip() == "Error: no context named 'nowhere' (known: local, fake)"
    assert run("auth", "logout", "nowhere").code == 1
    assert config.config_file().read()["active"] == "fake"


def test_status_json_says_who_where_and_until_when(run, fake_skaha):
    login(run, fake_skaha, "fake")
    status = json.loads(run("auth", "status", "--json").out)
    assert status["context"] == "fake"
    assert status["url"] == fake_skaha.url
    assert status["server"] == "fake"  # the server's name, as the public client prints it
    assert status["auth"] == "token"
    assert status["user"] == "jdoe"  # from the x-vo-authenticated header
    assert status["valid"] is True
    assert fake_skaha.token not in json.dumps(status)


def test_status_of_a_refused_token_exits_1(run, fake_skaha):
    login(run, fake_skaha, "fake")
    fake_skaha.tokens.clear()
    result = run("auth", "status")
    assert result.code == 1
    assert "not valid" in result.out
    assert "canfar auth login" in result.out


def test_status_when_the_server_is_down_still_shows_the_context(run, fake_skaha, monkeypatch):
    login(run, fake_skaha, "fake")
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "0")
    fake_skaha.inject(None, ".*", reset=True, times=None)
    result = run("auth", "status")
    assert result.code == 0
    assert "not checked with the server" in result.out


def test_a_refused_token_is_not_saved(run, fake_skaha):
    result = run("auth", "login", "--url", fake_skaha.url, "--token-stdin", stdin="wrong")
    assert result.code == 1
    assert result.err.startswith("Error: login failed, nothing was saved")
    assert config.config_file().read() == {}
    assert config.credentials_file().read() == {}


def test_no_verify_saves_without_asking(run, fake_skaha):
    url = fake_skaha.url
    fake_skaha.stop()
    result = run(
        "auth",
        "login",
        "--url",
        url,
        "--token-stdin",
        "--no-verify",
        "--name",
        "later",
        stdin="tok",
    )
    assert result.code == 0
    assert config.credentials_file().read()["later"] == {"token": "tok"}


@pytest.mark.parametrize("url", ["ws-uv.canfar.net/skaha", "ftp://host/skaha", "https://h/s?x=1"])
def test_bad_urls_are_refused(run, url):
    result = run("auth", "login", "--url", url, "--token-stdin", stdin="tok")
    assert result.code == 2
    assert f"'{url}' is not a server URL" in result.err


def test_empty_token_is_refused(run, fake_skaha):
    result = run("auth", "login", "--url", fake_skaha.url, "--token-stdin", stdin="\n")
    assert result.code == 2
    assert "no token given" in result.err


def test_login_without_a_server_and_without_a_terminal_explains_itself(run):
    result = run("auth", "login")
    assert result.code == 2
    assert "--url URL --token-stdin" in result.err


def test_relogin_by_context_name(run, fake_skaha):
    login(run, fake_skaha, "fake")
    fake_skaha.tokens["new-token"] = "jdoe"
    result = run("auth", "login", "fake", "--token-stdin", stdin="new-token")
    assert result.code == 0, result.err
    assert config.credentials_file().read()["fake"] == {"token": "new-token"}


# -- discovery ------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_login_offers_registry_and_plugin_servers(
    fake_skaha, second, monkeypatch, canfar_plugin, capsys
):
    fake_skaha.uri = "ivo://canfar.cam.uksrc.org/skaha"
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"token={fake_skaha.registry_url}")

    class Site:
        @hookimpl
        def canfar_discover_servers(self):
            return Server("annsite", second.url, auth="token")

    canfar_plugin(Site(), name="site-servers")
    shown: list[str] = []

    def choose(prompt: str) -> str:
        shown.append(capsys.readouterr().err)
        line = next(line for line in shown[-1].splitlines() if "annsite" in line)
        return line.split(".")[0].strip()

    monkeypatch.setattr(click.termui, "visible_prompt_func", choose)
    monkeypatch.setattr(click.termui, "hidden_prompt_func", lambda prompt: second.token)
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    from canfar_core.cli import main

    code = main(["auth", "login"])
    assert code == 0
    assert "ukCAM" in shown[0]
    assert fake_skaha.url in shown[0]
    assert "canfar " not in shown[0]  # registries overridden: CADC's default is not added
    saved = config.config_file().read()
    assert saved["active"] == "annsite"
    assert saved["contexts"]["annsite"]["url"] == second.url


def test_a_url_typed_at_the_login_prompt_is_taken_as_a_url(fake_skaha, second, monkeypatch):
    fake_skaha.uri = "ivo://canfar.cam.uksrc.org/skaha"
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"token={fake_skaha.registry_url}")
    answers = iter(["twelve", second.url])
    monkeypatch.setattr(click.termui, "visible_prompt_func", lambda prompt: next(answers))
    monkeypatch.setattr(click.termui, "hidden_prompt_func", lambda prompt: second.token)
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    from canfar_core.cli import main

    assert main(["auth", "login", "--name", "typed"]) == 0
    saved = config.config_file().read()
    assert saved["active"] == "typed"
    assert saved["contexts"]["typed"]["url"] == second.url


def test_login_to_a_discovered_server_by_name(run, fake_skaha, monkeypatch):
    fake_skaha.uri = "ivo://canfar.cam.uksrc.org/skaha"
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"token={fake_skaha.registry_url}")
    result = run("auth", "login", "ukCAM", "--token-stdin", stdin=fake_skaha.token)
    assert result.code == 0, result.err
    assert config.config_file().read()["contexts"]["ukCAM"]["url"] == fake_skaha.url
    unknown = run("auth", "login", "nosuch", "--token-stdin", stdin="x")
    assert unknown.code == 1
    assert "known: ukCAM" in unknown.err


def test_discover_skips_dead_registries_dev_services_and_unreachable_ones(fake_skaha, second):
    fake_skaha.uri = "ivo://canfar.cam.uksrc.org/skaha"
    fake_skaha.registry_records = [
        ("ivo://dev.example.org/skaha", f"{second.url}/capabilities"),
        ("ivo://example.org/skaha", "http://127.0.0.1:9/skaha/capabilities"),
        ("ivo://example.org/other", f"{second.url}/capabilities"),
        ("ivo://annsite.example.org/skaha", f"{second.url}/capabilities"),
    ]
    environ = {
        "CANFAR_REGISTRY_URLS": f"{fake_skaha.registry_url},oidc=http://127.0.0.1:9/reg",
    }
    found = discovery.discover(environ, timeout=2)
    assert [(s.name, s.url, s.auth) for s in found] == [
        ("ukCAM", fake_skaha.url, "x509"),  # the fake advertises certificates first
        ("127-0-0-1", second.url, "x509"),
    ]


def test_builtin_registries_and_default_server(monkeypatch):
    sources, overridden = discovery.registries({})
    assert not overridden
    assert [s.auth for s in sources] == ["x509", "oidc"]
    monkeypatch.setattr(discovery, "_get", lambda url, timeout, accept: None)
    assert discovery.discover({}) == [discovery.DEFAULT_SERVER]


def test_capabilities_parsing_takes_the_newest_session_api():
    xml = """<caps xmlns:x="urn:x"><capability standardID="http://www.opencadc.org/std/platform#session-1">
      <interface><accessURL use="base">https://h/skaha/v1/session</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#token"/></interface></capability>
      <capability standardID="vos://cadc.nrc.ca~vospace/CADC/std/Proc#sessions-1.0">
      <interface><accessURL use="base">https://h/skaha/v0</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#tls-with-certificate"/></interface>
      </capability></caps>"""
    assert discovery.parse_capabilities(xml) == ("https://h/skaha", ["token"])
    assert discovery.parse_capabilities("not xml") is None
    assert discovery.parse_resource_caps("# c\nivo://a/skaha = https://a/skaha/capabilities\n") == [
        ("ivo://a/skaha", "https://a/skaha/capabilities")
    ]


def test_oidc_login_through_the_command_then_use(run, fake_skaha, monkeypatch):
    idp = FakeIdP(pending_polls=0).start()
    try:
        fake_skaha.validator = lambda token: "jdoe" if token.count(".") == 2 else None
        result = run(
            "auth",
            "login",
            "--url",
            fake_skaha.url,
            "--auth",
            "oidc",
            "--issuer",
            idp.issuer,
            "--name",
            "src",
        )
        assert result.code == 0, result.err
        assert "WXYZ-1234" in result.err
        saved = config.credentials_file().read()["src"]
        assert saved["client_id"] == "client-1"
        assert saved["refresh_token"]
        assert config.config_file().read()["contexts"]["src"]["options"] == {"issuer": idp.issuer}
        assert run("ps").code == 0
        assert saved["access_token"] not in result.err + result.out
    finally:
        idp.stop()
