"""Bad input is refused before anything is sent, on one line naming the bad value, exit 2; a
config file that cannot be read is named, and never overwritten."""

from __future__ import annotations

import os

import pytest

from canfar_core import config

CREATE = ("create", "headless", "skaha/astroml")

#: (arguments after ``create headless skaha/astroml``, the text the error must contain)
BAD_CREATE = [
    (("--name", "bad_name"), "'bad_name'"),
    (("--name", "-lead"), "'-lead'"),
    (("--name", "trail-"), "'trail-'"),
    (("--name", "é"), "'é'"),
    (("--name", "x" * 70), "'" + "x" * 70 + "'"),
    (("--name", ""), "session name must not be empty"),
    (("--replicas", "0"), "not 0"),
    (("--replicas", "-3"), "not -3"),
    (("--replicas", "257"), "not 257"),
    (("--replicas", "99999999999999999999"), "not 99999999999999999999"),
    (("--replicas", "two"), "'two'"),
    (("--cores", "0"), "cores must be between"),
    (("--cores", "-2"), "not -2"),
    (("--cores", "nan"), "not nan"),
    (("--cores", "inf"), "not inf"),
    (("--cores", "1e400"), "not inf"),
    (("--cores", "100000"), "not 100000"),
    (("--cores", "four"), "'four'"),
    (("--ram", "-8"), "not -8"),
    (("--ram", "0"), "ram must be between"),
    (("--ram", "4096"), "not 4096"),
    (("--gpus", "-1"), "not -1"),
    (("--gpus", "1.5"), "'1.5'"),
    (("--gpus", "1000"), "not 1000"),
    (("--env", "NOEQUALS"), "'NOEQUALS'"),
    (("--env", "=value"), "--env '=value' names no variable"),
    (("--env", "1ST=x"), "'1ST'"),
    (("--env", "A B=x"), "'A B'"),
    (("--env", "NUL=a\x00b"), "NUL"),
    (("--env", "Q=a=b"), "Q=a=b"),
    (("--env", 'Q=say "hi"'), "Q contains a double quote"),
]

BAD_IMAGES = [
    ("", "an image is required"),
    ("   ", "an image is required"),
    ("Skaha/AstroML", "'Skaha/AstroML'"),
    ("skaha/astroml:bad tag", "'skaha/astroml:bad tag'"),
    ("../x", "'../x'"),
    ("astroml", "'astroml'"),
    ("skaha/astroml@sha256:123", "'skaha/astroml@sha256:123'"),
]

BAD_IDS = ["../x", "..", ".", "", "a/b", "x" * 200, "%2e%2e", "id with spaces", "-rf"]
ID_COMMANDS = ["info", "delete", "logs", "events", "renew", "open"]


def assert_refused(result, named: str, code: int = 2) -> None:
    assert result.code == code, result.err
    lines = [line for line in result.err.strip().splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.err
    assert named in lines[0], result.err
    assert "Traceback" not in result.err
    assert result.out == ""


@pytest.mark.parametrize(("extra", "named"), BAD_CREATE, ids=[repr(c[0]) for c in BAD_CREATE])
def test_bad_create_values_are_refused_before_sending(run, fake, extra, named):
    result = run(*CREATE, *extra, "--", "python", "fit.py")
    assert_refused(result, named)
    assert fake.requests == []


@pytest.mark.parametrize(("image", "named"), BAD_IMAGES)
def test_bad_images_are_refused_before_sending(run, fake, image, named):
    result = run("create", "headless", image, "--", "true")
    assert_refused(result, named)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("extra", "named"),
    [(("--cores", "17"), "cores 17 is not offered"), (("--ram", "7"), "ram 7 GB is not offered")],
)
def test_values_the_platform_does_not_offer_are_refused_before_any_create(run, fake, extra, named):
    result = run(*CREATE, *extra, "--", "true")
    assert_refused(result, named)
    assert [r.method for r in fake.requests] == ["GET"]  # only the offer was asked for
    assert "choose from" in result.err


def test_replicas_beyond_the_kind_limit(run, fake):
    result = run("create", "desktop", "skaha/desktop", "--replicas", "2")
    assert_refused(result, "between 1 and 1, not 2")
    assert fake.requests == []


def test_a_command_for_a_kind_that_takes_none(run, fake):
    result = run("create", "notebook", "skaha/astroml", "--env", "A=1")
    assert_refused(result, "notebook session takes no command")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("bogus", "unknown session kind 'bogus'"),
        ("HEADLESS2", "unknown session kind 'headless2'"),
        ("", "a session kind is required"),
        (" ", "a session kind is required"),
    ],
)
def test_unknown_kinds(run, fake, kind, named):
    result = run("create", kind, "skaha/astroml", "--", "true")
    assert_refused(result, named)
    assert fake.requests == []


@pytest.mark.parametrize("command", ID_COMMANDS)
@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_never_reach_the_server(run, fake, command, bad):
    result = run(command, "--", bad) if bad.startswith("-") else run(command, bad)
    assert_refused(result, f"'{bad}' is not a session id")
    assert fake.requests == []


def test_one_bad_id_among_good_ones_sends_nothing(run, fake):
    good = fake.add_session(name="keep-me")
    result = run("delete", "--force", good, "../context")
    assert_refused(result, "'../context'")
    assert fake.requests == []
    assert len(fake.live_sessions()) == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("ps", "--status", "Finished"), "unknown status 'Finished'"),
        (("ps", "--kind", "vm"), "unknown session kind 'vm'"),
        (("images", "--kind", "vm"), "unknown session kind 'vm'"),
        (("prune", "--status", "Done", "--yes"), "unknown status 'Done'"),
    ],
)
def test_bad_filters(run, fake, args, named):
    assert_refused(run(*args), named)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("CANFAR_HTTP_RETRIES", "many", "'many'"),
        ("CANFAR_HTTP_BACKOFF", "-1", "'-1'"),
        ("CANFAR_HTTP_TIMEOUT", "0", "'0'"),
        ("CANFAR_HTTP_TIMEOUT", "1,2,3,4", "'1,2,3,4'"),
    ],
)
def test_bad_tuning_variables(run, fake, monkeypatch, name, value, named):
    monkeypatch.setenv(name, value)
    result = run("ps")
    assert_refused(result, named)
    assert name in result.err
    assert fake.requests == []


def test_a_server_url_that_is_not_one(run, canfar_home, monkeypatch):
    monkeypatch.setenv("CANFAR_URL", "ftp://example.org/skaha")
    monkeypatch.setenv("CANFAR_TOKEN", "t")
    assert_refused(run("ps"), "'ftp://example.org/skaha' is not a server URL")


# -- config files ---------------------------------------------------------------------------

CORRUPT = [
    (b'{"active": "fake", ', "is not valid JSON (line 1"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    (b'["not", "an", "object"]', "must hold a JSON object"),
]

#: Commands that read the config (and some that would write it).
READERS = [
    ("ps",),
    ("create", "headless", "skaha/astroml", "--", "true"),
    ("config", "show"),
    ("config", "get", "defaults.image"),
    ("config", "set", "defaults.image", "skaha/astroml"),
    ("config", "unset", "defaults.image"),
    ("auth", "list"),
    ("auth", "status"),
    ("auth", "switch", "local"),
    ("auth", "logout", "--all"),
]


@pytest.mark.parametrize(("content", "named"), CORRUPT, ids=["json", "utf8", "list"])
@pytest.mark.parametrize("args", READERS, ids=lambda args: " ".join(args[:2]))
def test_a_corrupt_config_is_named_and_never_overwritten(run, canfar_home, content, named, args):
    path = config.config_file().path
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    result = run(*args)
    assert result.code == 1
    line = result.error_line()
    assert str(path) in line
    assert named in line
    assert path.read_bytes() == content
    assert not config.credentials_file().path.exists()


def test_a_failed_login_over_a_corrupt_config_saves_nothing(run, fake, monkeypatch):
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    path = config.config_file().path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{oops")
    result = run("auth", "login", "--url", fake.url, "--token-stdin", stdin=fake.token)
    assert result.code == 1
    assert str(path) in result.error_line()
    assert path.read_bytes() == b"{oops"
    # "nothing was changed" holds for the credentials too: no token left behind
    assert not config.credentials_file().path.exists()


def test_corrupt_credentials_are_named_and_never_overwritten(run, fake, monkeypatch):
    monkeypatch.delenv("CANFAR_URL")
    monkeypatch.delenv("CANFAR_TOKEN")
    assert run("auth", "login", "--url", fake.url, "--token-stdin", stdin=fake.token).code == 0
    secrets = config.credentials_file().path
    secrets.write_bytes(b'{"half": ')
    login = ("auth", "login", "--url", fake.url, "--token-stdin")
    for args, stdin in ((("ps",), ""), (login, fake.token)):
        result = run(*args, stdin=stdin)
        assert result.code == 1
        line = result.error_line()
        assert str(secrets) in line
        assert "is not valid JSON" in line
        assert secrets.read_bytes() == b'{"half": '


def test_an_unreadable_config_is_named(run, canfar_home):
    path = config.config_file().path
    path.mkdir(parents=True)  # a folder where the file should be: unreadable even by root
    result = run("ps")
    assert result.code == 1
    assert f"cannot read {path}" in result.error_line()
    assert path.is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_config_without_read_permission_is_named(run, canfar_home):
    path = config.config_file().path
    path.parent.mkdir(parents=True)
    path.write_text('{"active": "local"}')
    path.chmod(0)
    try:
        result = run("config", "set", "defaults.image", "skaha/astroml")
        assert result.code == 1
        assert f"cannot read {path}: Permission denied" in result.error_line()
    finally:
        path.chmod(0o600)
    assert path.read_text() == '{"active": "local"}'


def test_a_broken_context_can_be_logged_out_as_the_error_says(run, canfar_home):
    path = config.config_file().path
    path.parent.mkdir(parents=True)
    path.write_text('{"active": "old", "contexts": {"old": 3}}')
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert str(path) in line
    assert line.endswith("canfar auth logout old")
    logout = run("auth", "logout", "old")
    assert logout.code == 0, logout.err
    assert config.config_file().read() == {"contexts": {}, "active": "local"}  # remembered
    assert run("ps").code == 0


# -- found by the fuzz tests ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/skaha", "Port out of range"),
        ("http://host:abc/skaha", "Port could not be cast"),
    ],
)
def test_a_malformed_server_url_is_a_usage_error(run, canfar_home, monkeypatch, url, named):
    login = run("auth", "login", "--url", url, "--token-stdin", stdin="tok")
    assert_refused(login, f"'{url}' is not a server URL: {named}")
    monkeypatch.setenv("CANFAR_URL", url)
    monkeypatch.setenv("CANFAR_TOKEN", "tok")
    assert_refused(run("ps"), f"'{url}' is not a server URL: {named}")


@pytest.mark.parametrize("backend", ["local", "canfar"])
def test_a_nul_in_the_command_is_refused_before_anything_starts(run, fake, backend):
    result = run("create", "--backend", backend, "headless", "skaha/astroml", "--", "echo", "a\0b")
    assert_refused(result, r"the command word 'a\x00b' contains a NUL character")
    assert fake.requests == []


def test_control_characters_in_an_error_are_shown_escaped_on_one_line(run, fake):
    result = run("--context", "a\nb\x1b[31m", "ps")
    assert result.code == 1
    assert result.error_line() == r"Error: no context named 'a\nb\x1b[31m' (known: local)"
    fake.inject("GET", r"/v1/session$", 500, body="boom \x1b]0;pwned\x07 end", times=None)
    line = run("ps").error_line()
    assert "\x1b" not in line
    assert r"\x1b]0;pwned\x07" in line


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (("--cpu", "0"), "Invalid value for '--cpu': cores must be between 0.001 and 256, not 0"),
        (("--cores=0",), "Invalid value for '--cores': cores must be between"),
        (("-c", "300"), "Invalid value for '-c': cores must be between 0.001 and 256, not 300"),
        (("--memory", "513"), "Invalid value for '--memory': ram must be between 0.001 and 512"),
        (("--replicas", "257"), "Invalid value for '--replicas': replicas must be between 1 and"),
        (("-qr", "0"), "Invalid value for '-r': replicas must be between 1 and 256, not 0"),
        (("--gpu", "1000"), "Invalid value for '--gpu': gpus must be between 0 and 28"),
        (("--cpu", "four"), "Invalid value for '--cpu': 'four' is not a valid float"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_an_out_of_range_option_is_named_as_typed_in_clicks_words(run, fake, extra, named):
    """The public client's docs quote click's ``Invalid value for '--cpu'``: the option is
    named as the user typed it (--cpu, not --cores), with the limits."""
    result = run(*CREATE, *extra, "--", "python", "fit.py")
    assert_refused(result, named)
    assert fake.requests == []
