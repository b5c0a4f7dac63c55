"""Private images: ``canfar auth registry`` saves a registry login per context, the canfar
backend sends it (``X-Skaha-Registry-Auth``) with session launches only, and the secret never
comes back out."""

from __future__ import annotations

import base64
import io
import json
import logging

import click
import pytest
import requests

from canfar_core import config
from tests.fakeskaha import FakeSkaha

PRIVATE = "images.canfar.net/alice/pipeline:2.1"
PUBLIC = "images.canfar.net/skaha/astroml:latest"
USER = "alice"
SECRET = "Hx7vQp2mZr9LwK4tNc8s"
HEADER = "X-Skaha-Registry-Auth"
NO_LOGIN = (
    "No authentication provided for unknown or private image.  Use x-skaha-registry-auth "
    "request header with base64Encode(username:secret)."
)
MALFORMED = "Invalid input.  Must be in form of username:secret"


def encoded(user: str = USER, secret: str = SECRET) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def leaked(text: str) -> bool:
    """Whether the secret, any 8 characters of it, or the header value shows in ``text``."""
    pieces = {SECRET[i : i + 8] for i in range(len(SECRET) - 7)}
    return encoded() in text or any(piece in text for piece in pieces)


def logged_in_url(fake: FakeSkaha) -> str:
    return fake.url.rstrip("/")


@pytest.fixture
def logged_in(run, fake_skaha: FakeSkaha) -> FakeSkaha:
    result = run(
        "auth", "login", "--url", fake_skaha.url, "--token-stdin", "--name", "fake",
        stdin=fake_skaha.token,
    )  # fmt: skip
    assert result.code == 0, result.err
    return fake_skaha


@pytest.fixture
def with_login(run, logged_in: FakeSkaha) -> FakeSkaha:
    result = run("auth", "registry", "set", USER, "--secret-stdin", stdin=SECRET + "\n")
    assert result.code == 0, result.err
    return logged_in


# -- the fake answers as the service does ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        (None, 400, NO_LOGIN),
        ("not base64!", 400, MALFORMED),
        (base64.b64encode(b"no-colon").decode(), 400, MALFORMED),
        (base64.b64encode(b"a:b:c").decode(), 400, MALFORMED),
        (encoded(), 200, None),
    ],
)
def test_the_fake_wants_a_well_formed_login_for_a_private_image(
    fake_skaha, header, status, message
):
    headers = {"Authorization": f"Bearer {fake_skaha.token}"}
    if header is not None:
        headers[HEADER] = header
    response = requests.post(
        fake_skaha.api + "/session",
        data={"name": "p", "image": PRIVATE},
        headers=headers,
        timeout=5,
    )
    assert response.status_code == status
    if message is not None:
        assert response.text == message + "\n"


# -- set, show, clear -------------------------------------------------------------------------


def test_set_keeps_the_secret_in_the_private_credentials_file_only(run, with_login):
    stored = config.credentials_file()
    assert stored.read()["fake"]["registry"] == {
        "username": USER,
        "secret": SECRET,
        "server": logged_in_url(with_login),
    }
    assert stored.read()["fake"]["token"] == with_login.token  # the login is untouched
    assert stored.path.stat().st_mode & 0o777 == 0o600
    assert not leaked(config.config_file().path.read_text())
    shown = run("auth", "registry", "show")
    assert shown.code == 0
    assert shown.out.split() == [
        *("context", "fake", "username", USER, "secret", "stored"),
        *("server", logged_in_url(with_login)),
    ]
    as_json = json.loads(run("auth", "registry", "show", "--json").out)
    assert as_json == {
        "context": "fake",
        "username": USER,
        "secret_stored": True,
        "server": logged_in_url(with_login),
    }
    for result in (shown, run("config", "show"), run("auth", "status"), run("auth", "list")):
        assert not leaked(result.out + result.err)


def test_clear_forgets_it_and_launches_go_without(run, with_login):
    cleared = run("auth", "registry", "clear")
    assert cleared.code == 0
    assert "removed" in cleared.err
    assert "registry" not in config.credentials_file().read()["fake"]
    assert json.loads(run("auth", "registry", "show", "--json").out) == {
        "context": "fake",
        "username": None,
        "secret_stored": False,
        "server": None,
    }
    assert "No registry login" in run("auth", "registry", "show").err
    again = run("auth", "registry", "clear")
    assert (again.code, "No registry login was saved" in again.err) == (0, True)
    run("create", "headless", PUBLIC, "--", "true")
    [post] = with_login.requests_to("POST", r"/v1/session$")
    assert post.header(HEADER) is None


def test_the_secret_survives_a_new_login_and_goes_with_logout(run, with_login):
    relogin = run(
        "auth", "login", "--url", with_login.url, "--token-stdin", "--name", "fake",
        stdin=with_login.token,
    )  # fmt: skip
    assert relogin.code == 0, relogin.err
    assert config.credentials_file().read()["fake"]["registry"]["secret"] == SECRET
    assert run("auth", "logout", "fake").code == 0
    assert "fake" not in config.credentials_file().read()


def test_each_context_has_its_own(run, with_login, fake_skaha):
    second = run(
        "auth", "login", "--url", fake_skaha.url, "--token-stdin", "--name", "other",
        stdin=fake_skaha.token,
    )  # fmt: skip
    assert second.code == 0
    assert json.loads(run("auth", "registry", "show", "--json").out)["username"] is None
    shown = json.loads(run("--context", "fake", "auth", "registry", "show", "--json").out)
    assert shown["username"] == USER


@pytest.mark.parametrize(
    ("username", "secret", "named"),
    [
        ("al:ice", SECRET, "'al:ice' contains ':'"),
        (USER, "pa:ss", "secret contains ':'"),
        (USER, "", "no secret on standard input"),
        (USER, "two\nlines", "line break"),
        ("", SECRET, "must not be empty"),
    ],
)
def test_logins_the_platform_cannot_carry_are_refused(run, logged_in, username, secret, named):
    result = run("auth", "registry", "set", username, "--secret-stdin", stdin=secret)
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith("Error: ")
    assert named in line
    assert "pa:ss" not in line
    assert "registry" not in config.credentials_file().read()["fake"]


def test_without_a_terminal_the_secret_must_come_from_stdin(run, logged_in):
    result = run("auth", "registry", "set", USER)
    assert result.code == 2
    assert "--secret-stdin" in result.err


def test_the_hidden_prompt_on_a_terminal(logged_in, monkeypatch, capsys):
    from canfar_core.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr(click.termui, "hidden_prompt_func", lambda p: asked.append(p) or SECRET)
    assert main(["auth", "registry", "set", USER]) == 0
    assert len(asked) == 1
    shown = capsys.readouterr()
    # click 8.2+ hands the prompt text to the prompt function; 8.1 prints it first.
    assert USER in asked[0] + shown.out + shown.err
    assert config.credentials_file().read()["fake"]["registry"]["secret"] == SECRET
    assert not leaked(shown.out + shown.err)


def test_the_local_and_environment_contexts_cannot_hold_one(run, fake_skaha, monkeypatch):
    local = run("auth", "registry", "set", USER, "--secret-stdin", stdin=SECRET)
    assert local.code == 2
    assert "local" in local.err
    monkeypatch.setenv("CANFAR_URL", fake_skaha.url)
    monkeypatch.setenv("CANFAR_TOKEN", fake_skaha.token)
    env = run("auth", "registry", "set", USER, "--secret-stdin", stdin=SECRET)
    assert env.code == 2
    assert "CANFAR_URL" in env.err
    assert config.credentials_file().read() == {}


# -- what is sent ---------------------------------------------------------------------------


def test_private_image_end_to_end_without_leaking_the_secret(run, with_login, caplog):
    fake = with_login
    caplog.set_level(logging.DEBUG)
    fake.clear_requests()
    created = run("--debug", "create", "headless", PRIVATE, "--replicas", "2", "-q", "--", "true")
    assert created.code == 0, created.err
    ids = created.out.split()
    assert len(ids) == 2
    posts = fake.requests_to("POST", r"/v1/session$")
    assert len(posts) == 2
    for post in posts:
        assert base64.b64decode(post.header(HEADER)).decode() == f"{USER}:{SECRET}"
    fake.set_logs(ids[0], "done\n")
    runs = [
        created,
        run("--debug", "ps", "--all"),
        run("--debug", "info", ids[0]),
        run("--debug", "logs", ids[0]),
        run("--debug", "events", ids[0]),
        run("--debug", "renew", ids[0]),
        run("--debug", "auth", "registry", "show"),
        run("--debug", "auth", "status"),
        run("--debug", "config", "show"),
        run("--debug", "delete", "--force", *ids),
    ]
    for result in runs:
        assert not leaked(result.out + result.err), result
    assert not leaked(caplog.text)
    others = [r for r in fake.requests if (r.method, r.path) != ("POST", "/skaha/v1/session")]
    assert len(others) >= 6
    assert [r for r in others if r.header(HEADER) is not None] == []


def test_without_a_login_the_servers_message_and_the_way_out(run, logged_in):
    result = run("create", "headless", PRIVATE, "--", "true")
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert "No authentication provided for unknown or private image." in line
    assert "canfar auth registry set USERNAME" in line
    [post] = logged_in.requests_to("POST", r"/v1/session$")
    assert post.header(HEADER) is None


def test_a_public_image_needs_no_login(run, logged_in):
    result = run("create", "headless", PUBLIC, "--", "true")
    assert result.code == 0, result.err


def test_a_hand_edited_login_the_server_refuses_says_to_set_it_again(run, logged_in):
    store = config.credentials_file()
    data = store.read()
    data["fake"]["registry"] = {"username": "a:b", "secret": SECRET}
    store.write(data)
    result = run("--debug", "create", "headless", PRIVATE, "--", "true")
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert "Must be in form of username:secret" in last
    assert "canfar auth registry set USERNAME" in last
    assert not leaked(result.err)


def test_a_login_to_another_server_under_the_same_name_drops_it_and_says_so(run, with_login):
    other = FakeSkaha(tokens={with_login.token: USER}).start()
    try:
        moved = run(
            "auth", "login", "--url", other.url, "--token-stdin", "--name", "fake",
            stdin=with_login.token,
        )  # fmt: skip
        assert moved.code == 0, moved.err
        said = [line for line in moved.err.splitlines() if "registry login" in line]
        assert len(said) == 1, moved.err
        assert other.url in said[0]
        assert "registry" not in config.credentials_file().read()["fake"]
        launched = run("create", "headless", PUBLIC, "--", "true")
        assert launched.code == 0, launched.err
        posts = other.requests_to("POST", r"/v1/session$")
        assert len(posts) == 1
        assert posts[0].header(HEADER) is None
        assert not leaked(moved.out + moved.err + launched.out + launched.err)
    finally:
        other.stop()


def test_a_context_pointed_at_another_server_keeps_the_login_from_it(run, with_login):
    """`config set contexts.NAME.url` moves a context without a login: the registry login saved
    for the first server is not handed to the second; the user is told once, and a launch back
    on the first server sends it again."""
    other = FakeSkaha(tokens={with_login.token: USER}).start()
    try:
        moved = run("config", "set", "contexts.fake.url", other.url)
        assert moved.code == 0, moved.err
        launched = run("create", "headless", PRIVATE, "--replicas", "2", "--", "true")
        assert launched.code == 1  # the other server asks for a login it was not given
        assert "No authentication provided" in launched.err
        posts = other.requests_to("POST", r"/v1/session$")
        assert len(posts) == 2
        assert [post.header(HEADER) for post in posts] == [None, None]
        said = [line for line in launched.err.splitlines() if "registry login of" in line]
        assert len(said) == 1, launched.err
        assert logged_in_url(with_login) in said[0]
        assert "not sent" in said[0]
        assert not leaked(launched.out + launched.err)
    finally:
        other.stop()
    back = run("config", "set", "contexts.fake.url", with_login.url)
    assert back.code == 0, back.err
    with_login.clear_requests()
    again = run("create", "headless", PRIVATE, "--", "true")
    assert again.code == 0, again.err
    [post] = with_login.requests_to("POST", r"/v1/session$")
    assert base64.b64decode(post.header(HEADER)).decode() == f"{USER}:{SECRET}"
    assert "registry login" not in again.err
