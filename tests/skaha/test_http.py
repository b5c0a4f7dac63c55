"""Unit tests of the HTTP layer (retry rules, error mapping), with requests-mock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from canfar_core.errors import (
    AuthError,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    ServerError,
    ValidationError,
)
from canfar_plugins.skaha.http import (
    HttpClient,
    Redirected,
    RequestRefused,
    RetryPolicy,
    Timeouts,
    parse_retry_after,
    quote_id,
    safe_url,
)

API = "https://sp.example.org/skaha/v1"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> HttpClient:
    policy = RetryPolicy(
        attempts=4, backoff=0.5, backoff_max=8, sleep=sleeps.append, rng=random.Random(1)
    )
    return HttpClient(
        API,
        policy=policy,
        timeouts=Timeouts(connect=2, read=3, total=60),
        login_hint="log in again: canfar auth login sp",
    )


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens on the port."""
    reason = NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.ConnectionError(reason)


def test_get_retried_on_503_then_succeeds(client, requests_mock, sleeps):
    requests_mock.get(
        f"{API}/session",
        [
            {"status_code": 503, "text": "temporarily unavailable\n"},
            {"status_code": 502, "text": "bad gateway"},
            {"status_code": 200, "json": []},
        ],
    )
    assert client.get_json("session") == []
    assert requests_mock.call_count == 3
    assert len(sleeps) == 2
    # exponential backoff with jitter: each wait between half and all of 0.5 * 2**(n-1)
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_attempts_are_bounded(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/session", status_code=504, text="gateway timeout")
    with pytest.raises(ServerError) as caught:
        client.get_json("session")
    assert requests_mock.call_count == 4
    assert len(sleeps) == 3
    assert caught.value.status == 504


def test_retry_after_is_honoured(client, requests_mock, sleeps):
    requests_mock.get(
        f"{API}/session",
        [
            {"status_code": 503, "text": "busy\n", "headers": {"Retry-After": "7"}},
            {"status_code": 200, "json": []},
        ],
    )
    client.get_json("session")
    assert sleeps == [7.0]


def test_retry_after_longer_than_the_cap_stops_and_says_when(client, requests_mock, sleeps):
    client.policy.retry_after_max = 5
    requests_mock.get(
        f"{API}/session",
        status_code=503,
        text="temporarily unavailable: null\n",
        headers={"Retry-After": "30"},
    )
    with pytest.raises(ServerError) as caught:
        client.get_json("session", params={"view": "stats"})
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert "try again in 30 s" in str(caught.value)
    assert "temporarily unavailable: null" in str(caught.value)


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=12), usegmt=True)
    assert parse_retry_after(later, now=now) == 12
    assert parse_retry_after("3") == 3
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_is_never_retried_on_a_server_error(client, requests_mock, sleeps, status):
    requests_mock.post(f"{API}/session", status_code=status, text="unexpected exception: boom")
    with pytest.raises(ServerError) as caught:
        client.request("POST", "session", data=[("name", "a")])
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert "boom" in str(caught.value)


def test_post_is_not_retried_after_a_read_timeout(client, requests_mock, sleeps):
    requests_mock.post(f"{API}/session", exc=requests.ReadTimeout("read timed out"))
    with pytest.raises(ConnectionFailed) as caught:
        client.request("POST", "session", data=[("name", "a")])
    assert requests_mock.call_count == 1
    assert "may still have been carried out" in str(caught.value)


def test_post_is_not_retried_after_a_reset(client, requests_mock):
    reset = requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    requests_mock.post(f"{API}/session", exc=reset)
    with pytest.raises(ConnectionFailed, match="reset"):
        client.request("POST", "session", data=[("name", "a")])
    assert requests_mock.call_count == 1


def test_post_is_retried_when_the_connection_was_never_made(client, requests_mock, sleeps):
    requests_mock.post(f"{API}/session", [{"exc": refused()}, {"text": "abcdefgh\n"}])
    response = client.request("POST", "session", data=[("name", "a")])
    assert response.text == "abcdefgh\n"
    assert requests_mock.call_count == 2


def test_get_is_retried_after_a_reset_and_a_read_timeout(client, requests_mock):
    reset = requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    requests_mock.get(
        f"{API}/session",
        [
            {"exc": reset},
            {"exc": requests.ReadTimeout("read timed out")},
            {"json": [{"id": "abc"}]},
        ],
    )
    assert client.get_json("session") == [{"id": "abc"}]
    assert requests_mock.call_count == 3


def test_delete_is_retried(client, requests_mock):
    requests_mock.delete(f"{API}/session/abc", [{"status_code": 503}, {"status_code": 200}])
    client.request("DELETE", "session/abc")
    assert requests_mock.call_count == 2


def test_connection_refused_names_the_server(client, requests_mock):
    requests_mock.get(f"{API}/session", exc=refused())
    with pytest.raises(ConnectionFailed) as caught:
        client.get_json("session")
    assert str(caught.value) == "cannot connect to sp.example.org: connection refused"


def test_401_says_to_log_in_again(client, requests_mock):
    requests_mock.get(
        f"{API}/session",
        status_code=401,
        text="invalid token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
    with pytest.raises(AuthError) as caught:
        client.get_json("session")
    assert not isinstance(caught.value, PermissionDenied)
    assert "invalid token" in str(caught.value)
    assert "canfar auth login sp" in str(caught.value)
    assert requests_mock.call_count == 1


def test_403_carries_the_server_text(client, requests_mock):
    requests_mock.get(
        f"{API}/session", status_code=403, text="Not authorized to use the skaha system\n"
    )
    with pytest.raises(PermissionDenied, match=r"Not authorized to use the skaha system$"):
        client.get_json("session")


def test_404_is_not_found_with_the_server_text(client, requests_mock):
    requests_mock.get(f"{API}/session/abc", status_code=404, text="session abc not found\n")
    with pytest.raises(NotFound) as caught:
        client.get_json("session/abc")
    assert str(caught.value) == "session abc not found"


def test_400_shows_the_server_message(client, requests_mock):
    requests_mock.post(
        f"{API}/session",
        status_code=400,
        text="Invalid value for 'cores': 99\n",
        headers={"Content-Type": "text/plain"},
    )
    with pytest.raises(RequestRefused) as caught:
        client.request("POST", "session", data=[("cores", "99")])
    assert caught.value.status == 400
    assert str(caught.value).endswith("Invalid value for 'cores': 99")
    assert caught.value.exit_code == 1


def test_html_error_page_is_reduced_to_its_title(client, requests_mock):
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    requests_mock.delete(
        f"{API}/session/abc", status_code=502, text=page, headers={"Content-Type": "text/html"}
    )
    client.policy.attempts = 1
    with pytest.raises(ServerError) as caught:
        client.request("DELETE", "session/abc")
    assert "502 Bad Gateway" in str(caught.value)
    assert "<" not in str(caught.value)


def test_non_json_body_is_a_server_error(client, requests_mock):
    requests_mock.get(
        f"{API}/session", text="<html>maintenance</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(ServerError, match="not JSON"):
        client.get_json("session")


def test_text_is_decoded_as_utf8_when_no_charset_is_given(client, requests_mock):
    requests_mock.get(
        f"{API}/session/abc", content="λ = 5 µm\n".encode(), headers={"Content-Type": "text/plain"}
    )
    assert client.get_text("session/abc", params={"view": "logs"}) == "λ = 5 µm\n"


def test_every_call_has_connect_and_read_timeouts(client, requests_mock):
    requests_mock.get(f"{API}/context", json={})
    client.get_json("context")
    assert requests_mock.last_request.timeout == (2, 3)


def test_form_bodies_are_urlencoded_with_repeated_fields(client, requests_mock):
    requests_mock.post(f"{API}/session", text="abcdefgh\n")
    client.request("POST", "session", data=[("env", "A=1"), ("env", "B=x y")])
    sent = requests_mock.last_request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.text == "env=A%3D1&env=B%3Dx+y"


@pytest.mark.parametrize("bad", ["../context", "..", ".", "a/b", "", "a b", "-x", "x?y=1"])
def test_bad_session_ids_never_reach_a_url(bad):
    with pytest.raises(ValidationError):
        quote_id(bad)


def test_good_session_ids_are_one_path_segment():
    assert quote_id("k3x9q0ab") == "k3x9q0ab"
    assert quote_id("a.b_c-1") == "a.b_c-1"


def test_settings_from_the_environment():
    policy = RetryPolicy.from_env({"CANFAR_HTTP_RETRIES": "0", "CANFAR_HTTP_BACKOFF": "0.01"})
    assert policy.attempts == 1
    assert policy.backoff == 0.01
    assert Timeouts.from_env({"CANFAR_HTTP_TIMEOUT": "3,20"}) == Timeouts(3, 20)
    assert Timeouts.from_env({"CANFAR_HTTP_TIMEOUT": "4"}) == Timeouts(4, 4)
    with pytest.raises(ValidationError, match="CANFAR_HTTP_RETRIES"):
        RetryPolicy.from_env({"CANFAR_HTTP_RETRIES": "many"})
    with pytest.raises(ValidationError, match="CANFAR_HTTP_TIMEOUT"):
        Timeouts.from_env({"CANFAR_HTTP_TIMEOUT": "0"})


def test_a_get_redirected_from_https_to_http_is_refused_not_followed(client, requests_mock):
    requests_mock.get(
        f"{API}/session", status_code=302, headers={"Location": "http://sp.example.org/x"}
    )
    requests_mock.get("http://sp.example.org/x", json=[{"id": "not-yours"}])
    with pytest.raises(Redirected, match="plain http"):
        client.get_json("session")
    assert [r.url for r in requests_mock.request_history] == [f"{API}/session"]


def test_a_get_redirected_within_the_server_is_followed(client, requests_mock):
    requests_mock.get(f"{API}/session", status_code=301, headers={"Location": "/skaha/v1/s2"})
    requests_mock.get(f"{API}/s2", json=[])
    assert client.get_json("session") == []


def test_a_get_redirected_to_another_server_is_refused(client, requests_mock):
    requests_mock.get(
        f"{API}/session", status_code=302, headers={"Location": "https://elsewhere.org/x"}
    )
    with pytest.raises(Redirected, match="another server"):
        client.get_json("session")
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_a_delete_or_post_redirect_is_an_error_that_says_so(client, requests_mock, method):
    requests_mock.register_uri(
        method, f"{API}/session/abc", status_code=302, headers={"Location": f"{API}/session"}
    )
    with pytest.raises(Redirected, match=rf"answered {method} .* with a redirect"):
        client.request(method, "session/abc")
    assert requests_mock.call_count == 1


def test_a_url_with_a_password_is_named_without_it():
    client = HttpClient("https://jdoe:hunter2-secret@sp.example.org/skaha/v1")
    assert client.label == "sp.example.org"
    assert "hunter2-secret" not in safe_url(client.base_url)


def test_other_services_never_follow_a_downgrade_or_a_post_redirect(requests_mock):
    from canfar_plugins._support import redirects

    requests_mock.get("https://idp.example.org/a", status_code=302, headers={"Location": "/b"})
    to_http = {"Location": "http://idp.example.org/c"}
    requests_mock.get("https://idp.example.org/b", status_code=302, headers=to_http)
    to_a = {"Location": "/a"}
    requests_mock.post("https://idp.example.org/token", status_code=302, headers=to_a)
    assert redirects.request("GET", "https://idp.example.org/a").status_code == 302
    assert requests_mock.request_history[-1].url == "https://idp.example.org/b"
    assert redirects.request("POST", "https://idp.example.org/token").status_code == 302
    assert requests_mock.request_history[-1].method == "POST"
    assert requests_mock.call_count == 3
