"""The retry rules, proven against the fake Skaha service through the real ``canfar`` command.

Each test injects a fault, runs one command and counts the requests the server saw: reads and
deletes are tried again on 502, 503, 504, broken connections and answers that never came, within
a bounded budget and honouring ``Retry-After``; a create is sent once, whatever happens.
"""

from __future__ import annotations

import itertools
import re

import pytest

SESSION_LIST = r"/v1/session$"
ONE_SESSION = r"/v1/session/[^/]+$"
CREATE = ("create", "headless", "skaha/astroml", "--", "python", "fit.py")


def gaps(requests) -> list[float]:
    """Seconds between consecutive requests, by the server's own clock."""
    times = [r.time for r in requests]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# -- reads: retried, then they succeed or fail on one line ------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_two_gateway_errors_then_success_is_three_requests(run, fake, status):
    fake.add_session(name="survivor")
    fake.inject("GET", SESSION_LIST, status, times=2)
    result = run("ps")
    assert result.code == 0, result.err
    assert "survivor" in result.out
    assert result.err == ""  # the retries are silent when they work
    assert len(fake.requests_to("GET", SESSION_LIST)) == 3


def test_a_burst_longer_than_the_budget_uses_the_whole_budget_then_fails_on_one_line(
    run, fake, monkeypatch
):
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "2")
    fake.inject("GET", SESSION_LIST, 503, times=None, body="temporarily unavailable: maintenance")
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "HTTP 503" in line
    assert "maintenance" in line  # the server's own words
    assert len(fake.requests_to("GET", SESSION_LIST)) == 3  # 1 try + 2 retries
    assert result.out == ""


def test_the_default_budget_is_four_tries(run, fake):
    fake.inject("GET", SESSION_LIST, 502, times=None)
    result = run("ps", "--json")
    assert result.code == 1
    assert "HTTP 502" in result.error_line()
    assert len(fake.requests_to("GET")) == 4
    assert result.out == ""  # no half-written JSON


def test_a_500_is_not_retried(run, fake):
    fake.inject("GET", SESSION_LIST, 500, times=None)
    result = run("ps")
    assert result.code == 1
    assert "HTTP 500" in result.error_line()
    assert len(fake.requests_to("GET")) == 1


def test_connection_resets_on_a_read_are_retried(run, fake):
    session = fake.add_session(name="after-reset")
    fake.inject("GET", ONE_SESSION, reset=True, times=2)
    result = run("info", session)
    assert result.code == 0, result.err
    assert "after-reset" in result.out
    assert len(fake.requests_to("GET", ONE_SESSION)) == 3


def test_resets_beyond_the_budget_fail_on_one_line(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    fake.inject("GET", SESSION_LIST, reset=True, times=None)
    result = run("ps")
    assert result.code == 1
    assert "connection reset" in result.error_line()
    assert len(fake.requests_to("GET")) == 2


def test_an_answer_slower_than_the_read_timeout_is_tried_again(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.3")
    fake.add_session(name="slow-then-fast")
    fake.inject("GET", SESSION_LIST, delay=1.0, times=1)
    result = run("ps")
    assert result.code == 0, result.err
    assert "slow-then-fast" in result.out
    assert len(fake.requests_to("GET", SESSION_LIST)) == 2


def test_answers_that_never_come_fail_naming_the_timeout(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.2")
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    fake.inject("GET", r"/v1/image$", delay=0.8, times=None)
    result = run("images")
    assert result.code == 1
    # Two tries of 0.2 s each, cut to the overall deadline (1.5 x 0.2 s): the time said is true.
    assert re.search(r"gave no complete answer within 0\.[3-4] s \(2 tries\)", result.error_line())
    assert len(fake.requests_to("GET", r"/v1/image$")) == 2


# -- Retry-After ----------------------------------------------------------------------------


def test_retry_after_is_waited_out(run, fake):
    fake.inject("GET", SESSION_LIST, 503, times=1)
    fake.inject("GET", SESSION_LIST, 503, times=1, headers={"Retry-After": "1"})
    result = run("ps")
    assert result.code == 0, result.err
    seen = fake.requests_to("GET", SESSION_LIST)
    assert len(seen) == 3
    without, with_header = gaps(seen)
    assert with_header >= 0.95  # the server asked for a second, and got it
    assert without < with_header  # the tiny backoff alone does not wait that long


def test_retry_after_beyond_the_cap_stops_at_once_and_says_when(run, fake):
    fake.inject("GET", SESSION_LIST, 503, times=None, headers={"Retry-After": "3600"})
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "HTTP 503" in line
    assert "try again in 3600 s" in line
    assert len(fake.requests_to("GET")) == 1


# -- deletes: idempotent, so retried --------------------------------------------------------


@pytest.mark.parametrize("fault", [{"status": 502}, {"status": 504}, {"reset": True}])
def test_delete_is_retried(run, fake, fault):
    session = fake.add_session(name="to-delete")
    fake.inject("DELETE", ONE_SESSION, times=1, **fault)
    result = run("delete", "--force", session)
    assert result.code == 0, result.err
    assert result.out.split() == [session]
    assert len(fake.requests_to("DELETE")) == 2
    assert fake.live_sessions() == []


def test_delete_of_many_retries_each_one_alone(run, fake):
    ids = [fake.add_session(name=f"batch-{k}") for k in range(6)]
    fake.inject("DELETE", ONE_SESSION, 503, times=3)
    result = run("delete", "--force", *ids)
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted(ids)
    assert len(fake.requests_to("DELETE")) == 6 + 3
    assert fake.live_sessions() == []


# -- creates: never sent twice --------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_failed_create_is_sent_exactly_once(run, fake, status):
    fake.inject("POST", SESSION_LIST, status, times=None, headers={"Retry-After": "0"})
    result = run(*CREATE)
    assert result.code == 1
    assert f"HTTP {status}" in result.error_line()
    assert len(fake.requests_to("POST")) == 1
    assert fake.live_sessions() == []


def test_a_reset_after_the_create_was_sent_is_not_resent_and_says_to_check_ps(run, fake):
    fake.inject("POST", SESSION_LIST, reset=True, times=None)
    result = run(*CREATE)
    assert result.code == 1
    line = result.error_line()
    assert "the session may have been created" in line
    assert "canfar ps" in line
    assert len(fake.requests_to("POST")) == 1


def test_a_create_answered_too_late_is_not_resent_and_says_to_check_ps(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.3")
    fake.inject("POST", SESSION_LIST, delay=1.0, times=None)
    result = run(*CREATE)
    assert result.code == 1
    line = result.error_line()
    assert "did not answer within 0.3 s" in line
    assert "the session may have been created" in line
    assert "canfar ps" in line
    assert len(fake.requests_to("POST")) == 1


def test_replicas_each_sent_once_when_one_fails(run, fake):
    fake.inject("POST", SESSION_LIST, 503, times=1)
    result = run(*CREATE[:3], "--replicas", "3", "--name", "fit", *CREATE[3:])
    assert result.code == 1
    assert len(fake.requests_to("POST")) == 3
    assert len(fake.live_sessions()) == 2
    lines = result.err.strip().splitlines()
    assert any("failed: " in line and "HTTP 503" in line for line in lines)
    assert lines[-1] == "Error: 1 of 3 replicas failed to launch; the 2 launched keep running"
    assert len(result.out.split("\n")) >= 2  # the launched ones are still listed


def test_renew_is_a_post_and_is_not_resent(run, fake):
    session = fake.add_session(type="notebook", name="nb")
    fake.inject("POST", ONE_SESSION, 503, times=None)
    result = run("renew", session)
    assert result.code == 1
    assert len(fake.requests_to("POST")) == 1


# -- bodies that are cut off or not JSON ----------------------------------------------------


def test_a_truncated_list_is_retried_then_one_line(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "2")
    fake.add_session(name="cut")
    fake.inject("GET", SESSION_LIST, truncate=True, times=None)
    result = run("ps", "--json")
    assert result.code == 1
    assert "cut off" in result.error_line()
    assert result.out == ""
    assert len(fake.requests_to("GET")) == 3


def test_a_truncated_answer_once_then_whole_succeeds(run, fake):
    fake.add_session(name="whole")
    fake.inject("GET", SESSION_LIST, truncate=True, times=1)
    result = run("ps")
    assert result.code == 0, result.err
    assert "whole" in result.out
    assert len(fake.requests_to("GET")) == 2


def test_json_cut_short_by_a_proxy_is_one_line(run, fake):
    # Complete as far as HTTP can tell (its length is right), but the JSON stops half-way.
    fake.inject(
        "GET",
        SESSION_LIST,
        body='[{"id": "abc12345", "status": "Runn',
        content_type="application/json",
    )
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "not JSON" in line
    assert len(fake.requests_to("GET")) == 1  # a whole answer is not retried


def test_an_html_maintenance_page_is_reduced_to_its_title(run, fake):
    fake.inject(
        "GET",
        SESSION_LIST,
        502,
        times=None,
        body="<html><head><title>Down for maintenance</title></head><body>"
        + "<p>lots of markup</p>" * 50
        + "</body></html>",
        content_type="text/html",
    )
    result = run("ps")
    assert result.code == 1
    line = result.error_line()
    assert "Down for maintenance" in line
    assert "<" not in line
