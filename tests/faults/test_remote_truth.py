"""The platform backend tells the truth under a second round of faults: answers that are not
what they look like, secrets in odd shapes, a registry login that must not follow a context to
another server, a log that trickles, Ctrl-C while saving logs. The fake service on loopback, the
real ``canfar`` command (in this process, or as real processes where a signal is involved).
"""

from __future__ import annotations

import json

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
