"""The platform backend tells the truth under a second round of faults: answers that are not
what they look like, secrets in odd shapes, a registry login that must not follow a context to
another server, a log that trickles, Ctrl-C while saving logs. The fake service on loopback, the
real ``canfar`` command (in this process, or as real processes where a signal is involved).
"""

from __future__ import annotations

import json
import time

import pytest

from canfar_core import config
from tests.faults.harness import TOKEN

SESSION_LIST = r"/v1/session$"
CREATE = ["create", "headless", "skaha/astroml", "--name", "fit"]


# -- a create answered with something that is not a session id ---------------------------------


def test_a_create_answered_200_maintenance_is_not_a_launched_session(run, fake):
    fake.inject("POST", SESSION_LIST, 200, body="Maintenance\n", times=None)
    result = run(*CREATE, "--json", "--", "true")
    assert result.code == 1, result.out
    assert "Maintenance" not in json.loads(result.out or "[]")
    assert "Launched" not in result.err
    assert "not a session id ('Maintenance')" in result.err
    assert "may have been created" in result.err


def test_an_id_the_server_sends_is_still_taken_as_it_is(run, fake):
    result = run(*CREATE, "-r", "2", "-q", "--", "true")
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted(s.id for s in fake.live_sessions())


# -- a very long name ---------------------------------------------------------------------------


def test_a_10000_character_name_is_not_echoed_whole(run, fake):
    name = "a" * 10_000
    result = run(*CREATE[:3], "--name", name, "--", "true")
    assert result.code == 2
    line = result.error_line()
    assert "10000 characters" in line
    assert len(line) < 300, len(line)
    assert fake.requests == []
    odd = "é_" * 5_000  # too long and not allowed either way
    line = run(*CREATE[:3], "--name", odd, "--", "true").error_line()
    assert len(line) < 300, len(line)


# -- a token with a line break ------------------------------------------------------------------

#: A token file wrapped at 64 columns, read with ``"$(cat tok)"``: each part is distinctive.
WRAPPED = "cf-WRAPPED-FIRST-half-9Qx7\ncf-WRAPPED-SECOND-half-3Lm2"


def assert_not_shown(text: str) -> None:
    for part in WRAPPED.split("\n"):
        assert part not in text, text


def test_a_token_with_a_line_break_in_canfar_token_is_refused_unshown(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_TOKEN", WRAPPED)
    result = run("ps")
    assert result.code == 2, result.err
    line = result.error_line()
    assert "CANFAR_TOKEN" in line
    assert "line break" in line
    assert_not_shown(result.out + result.err)
    assert fake.requests == []


def test_a_token_with_a_line_break_replacing_a_saved_one_is_refused_unshown(run, fake, monkeypatch):
    monkeypatch.delenv("CANFAR_URL")
    data = {"contexts": {"site": {"backend": "canfar", "url": fake.url, "auth": "token"}}}
    config.config_file().write({**data, "active": "site"})
    config.credentials_file().write({"site": {"token": TOKEN}})
    monkeypatch.setenv("CANFAR_TOKEN", WRAPPED)
    result = run("ps")
    assert result.code == 2, result.err
    assert "CANFAR_TOKEN" in result.error_line()
    assert_not_shown(result.out + result.err)
    assert fake.requests == []


def test_a_token_with_a_line_break_given_to_session_is_refused_unshown(fake, monkeypatch):
    from canfar.sessions import Session
    from canfar_core.errors import ValidationError

    monkeypatch.delenv("CANFAR_TOKEN")
    with pytest.raises(ValidationError) as caught:
        Session(url=fake.url, token=WRAPPED).fetch()
    assert "line break" in str(caught.value)
    assert_not_shown(str(caught.value) + repr(caught.value.args))
    assert fake.requests == []


# -- a log that trickles -------------------------------------------------------------------------

#: With ``CANFAR_HTTP_TIMEOUT=0.5`` the deadline of a call is 1.5 times that: 0.75 s.
DEADLINE = 0.75


def trickled(fake, name: str, size: int = 300, every: float = 0.1, piece: int = 1) -> str:
    """A session whose log the server sends ``piece`` bytes every ``every`` seconds."""
    session_id = fake.add_session(name=name, logs="z" * (size - 1) + "\n")
    fake.inject("GET", f"/v1/session/{session_id}$", trickle=every, trickle_size=piece, times=None)
    return session_id


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.5")  # each byte comes well within 0.5 s


def test_a_trickling_log_is_cut_at_the_deadline_with_a_clear_message(run, fake, short_timeout):
    session_id = trickled(fake, "slow")  # 300 bytes at 10 a second: 30 s
    started = time.monotonic()
    result = run("logs", session_id)
    took = time.monotonic() - started
    assert result.code == 1
    assert DEADLINE * 0.9 <= took < DEADLINE + 2, f"{took:.1f} s"
    line = result.error_line()
    assert "too slowly" in line
    assert "incomplete" in line


def test_a_trickling_log_saved_to_files_is_cut_and_leaves_no_file(
    run, fake, short_timeout, tmp_path
):
    ids = [trickled(fake, "slow-1"), trickled(fake, "slow-2")]
    started = time.monotonic()
    result = run("logs", "-o", str(tmp_path / "out"), *ids)
    took = time.monotonic() - started
    assert result.code == 1
    assert took < DEADLINE + 2, f"{took:.1f} s"
    errors = [line for line in result.err.splitlines() if "too slowly" in line]
    assert len(errors) == 2, result.err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_big_log_at_a_steady_rate_is_not_cut(run, fake, short_timeout, tmp_path):
    size = 1_000_000  # 64 KiB every 0.1 s: 1.6 s in all, twice the deadline
    first = trickled(fake, "big-1", size=size, piece=64 * 1024)
    second = trickled(fake, "big-2", size=size, piece=64 * 1024)
    result = run("logs", first)
    assert result.code == 0, result.err
    assert len(result.out) == size
    result = run("logs", "-o", str(tmp_path), first, second)
    assert result.code == 0, result.err
    assert sorted(p.stat().st_size for p in tmp_path.iterdir()) == [size, size]
    result = run("logs", first, second)
    assert result.code == 0, result.err
    assert result.out.count("z" * (size - 1) + "\n") == 2


# -- Ctrl-C while saving logs ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_ctrl_c_while_saving_logs_leaves_no_partial_file(fake, monkeypatch, tmp_path, count):
    from tests.faults.test_interrupts import CTRL_C_TO_EXIT, interrupt

    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "30")  # the deadline never ends it first
    ids = [trickled(fake, f"slow-{n}", size=10_000, every=0.05) for n in range(count)]
    folder = tmp_path / "out"
    done, took = interrupt(
        ["logs", "-o", str(folder), *ids],
        lambda: len(list(folder.glob(".*.part"))) == count,
    )
    assert done.returncode == 130, done.stderr
    assert took <= CTRL_C_TO_EXIT, f"{took:.1f} s from Ctrl-C to exit"
    assert "Traceback" not in done.stderr
    assert list(folder.iterdir()) == []
