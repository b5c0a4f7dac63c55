"""The canfar backend through the Session API, against the fake Skaha service on loopback."""

from __future__ import annotations

import re
import socket

import pytest

from canfar.sessions import Session
from canfar_core.errors import (
    AuthError,
    ConfigError,
    ConnectionFailed,
    LaunchError,
    LaunchRequestError,
    NotFound,
    PermissionDenied,
    ServerError,
    SessionRequestError,
    Unsupported,
    ValidationError,
)
from canfar_plugins.skaha.client import MAX_CONCURRENCY, api_url
from tests.failures import failure_of, reasons_of
from tests.fakeskaha import FakeSkaha

IMAGE = "images.canfar.net/skaha/astroml:latest"


@pytest.fixture
def session(canfar_home, fake_skaha: FakeSkaha) -> Session:
    return Session(url=fake_skaha.url, token=fake_skaha.token)


def test_url_contract():
    assert api_url("https://ws-uv.canfar.net/skaha") == "https://ws-uv.canfar.net/skaha/v1"
    assert api_url("https://ws-uv.canfar.net/skaha/") == "https://ws-uv.canfar.net/skaha/v1"
    assert api_url("https://ws-uv.canfar.net/skaha/v1") == "https://ws-uv.canfar.net/skaha/v1"
    assert api_url("http://127.0.0.1:8080/skaha/v2/") == "http://127.0.0.1:8080/skaha/v2"
    with pytest.raises(ValidationError, match="not a server URL"):
        api_url("ws-uv.canfar.net/skaha")


def test_create_with_replicas_sends_one_form_post_per_replica(session, fake_skaha):
    ids = session.create(
        name="fit",
        image="skaha/astroml",
        cmd="python",
        args=["fit.py", "--n", "3"],
        env={"FOO": "bar"},
        replicas=3,
        cores=2,
        ram=8,
    )
    assert len(ids) == 3
    posts = fake_skaha.requests_to("POST", r"/session$")
    assert len(posts) == 3
    by_replica = sorted(posts, key=lambda r: r.values("env")[-2])
    for replica, request in enumerate(by_replica, 1):
        assert request.header("Content-Type") == "application/x-www-form-urlencoded"
        assert request.query == ""  # every field travels in the form body
        assert request.names() == {"name", "image", "type", "cores", "ram", "cmd", "args", "env"}
        assert request.param("name") == f"fit-{replica}"
        assert request.param("image") == IMAGE
        assert request.param("type") == "headless"
        assert request.param("cores") == "2"
        assert request.param("ram") == "8"
        assert request.param("cmd") == "python"
        assert request.param("args") == "fit.py --n 3"
        assert request.values("env") == ["FOO=bar", f"REPLICA_ID={replica}", "REPLICA_COUNT=3"]
    listed = {s.id: s for s in session.fetch()}
    assert set(listed) == set(ids)
    assert sorted(s.name for s in listed.values()) == ["fit-1", "fit-2", "fit-3"]
    # ids come back in replica order
    assert [listed[i].name for i in ids] == ["fit-1", "fit-2", "fit-3"]


def test_replicas_are_sent_concurrently_with_a_bound(session, fake_skaha):
    # Each create takes long enough that a busy machine still has several under way at once.
    fake_skaha.inject("POST", r"/session$", delay=0.3, times=None)
    ids = session.create(name="many", image="skaha/astroml", cmd="true", replicas=40)
    assert len(ids) == 40 == len(set(ids))
    assert 2 <= fake_skaha.max_in_flight <= MAX_CONCURRENCY < 40


def test_partial_failure_keeps_and_lists_the_launched_replicas(session, fake_skaha):
    fake_skaha.inject("POST", r"/session$", status=500, body="unexpected exception: quota exceeded")
    with pytest.raises(LaunchError) as caught:
        session.create(name="part", image="skaha/astroml", cmd="true", replicas=4, errors="raise")
    error = caught.value
    assert len(error.ids) == 3
    assert len(error.failures) == 1
    ((replica, reason),) = error.failures.items()
    assert 1 <= replica <= 4
    assert "quota exceeded" in reason
    assert {s.id for s in session.fetch()} == set(error.ids)
    assert len(fake_skaha.requests_to("POST", r"/session$")) == 4


def test_a_failed_create_is_never_sent_twice(session, fake_skaha):
    fake_skaha.inject("POST", r"/session$", status=500, body="unexpected exception: boom")
    with pytest.raises(LaunchRequestError) as caught:
        session.create(name="once", image="skaha/astroml", cmd="true", errors="raise")
    assert isinstance(caught.value.__cause__, ServerError)  # the server's own error, kept
    assert "boom" in str(caught.value)
    assert len(fake_skaha.requests_to("POST", r"/session$")) == 1


def test_a_refused_token_stops_the_remaining_replicas(canfar_home, fake_skaha):
    bad = Session(url=fake_skaha.url, token="not-a-token")
    with pytest.raises(AuthError, match="log in again"):
        bad.create(name="x", image="skaha/astroml", cmd="true", replicas=40)
    assert len(fake_skaha.requests_to("POST", r"/session$")) <= MAX_CONCURRENCY < 40


def test_resources_are_checked_against_the_server_offer(session, fake_skaha):
    with pytest.raises(ValidationError, match=r"ram 3 GB is not offered .*1, 2, 4, 6"):
        session.create(name="r", image="skaha/astroml", cmd="true", ram=3)
    fake_skaha.context["gpus"] = {"options": []}
    with pytest.raises(ValidationError, match="offers no GPUs"):
        Session(url=fake_skaha.url, token=fake_skaha.token).create(
            name="g", image="skaha/astroml", cmd="true", gpu=1
        )
    assert fake_skaha.requests_to("POST") == []


def test_env_values_the_server_would_drop_are_refused_before_sending(session, fake_skaha):
    with pytest.raises(ValidationError, match="drops"):
        session.create(name="e", image="skaha/astroml", cmd="env", env={"Q": "a=b"})
    assert fake_skaha.requests_to("POST") == []


def test_info_logs_events(session, fake_skaha):
    (sid,) = session.create(name="Job", image="skaha/astroml", cmd="true", ram=4)
    fake_skaha.set_logs(sid, "line one\n\tindented [bold]x[/bold]\n")
    found = session.info(sid, errors="raise")[0]
    assert (found.id, found.name, found.kind, found.status) == (sid, "job", "headless", "Running")
    assert found.ram == 4.0
    assert found.image == IMAGE
    assert found.user == fake_skaha.user
    assert session.logs(sid, errors="raise")[sid] == "line one\n\tindented [bold]x[/bold]\n"
    assert "Scheduled" in session.events(sid, errors="raise")[0][sid]
    gets = fake_skaha.requests_to("GET", sid)
    assert [r.param("view") for r in gets] == [None, "logs", "events"]


def test_unknown_ids(session):
    with pytest.raises(NotFound, match="session zzzzzzzz not found"):
        raise failure_of(session.info, "zzzzzzzz")
    with pytest.raises(NotFound, match=r"session zzzzzzzz not found\.$"):
        raise failure_of(session.events, "zzzzzzzz")
    assert session.logs("zzzzzzzz", errors="raise")["zzzzzzzz"] == ""  # as the service answers


def test_ids_cannot_escape_the_session_path(session, fake_skaha):
    with pytest.raises(ValidationError):
        session.destroy(["../context"])
    with pytest.raises(ValidationError):
        session.backend.delete(["../context"])
    assert fake_skaha.requests == []


def test_delete_many_concurrently(session, fake_skaha):
    ids = [fake_skaha.add_session(name=f"j{i}") for i in range(20)]
    fake_skaha.inject("DELETE", r"/session/", delay=0.3, times=None)
    outcome = reasons_of(session.destroy, ids)
    assert outcome == dict.fromkeys(ids)
    assert fake_skaha.live_sessions() == []
    assert fake_skaha.max_in_flight >= 2


def test_delete_with_a_refused_token_is_an_error_not_a_result(canfar_home, fake_skaha):
    sid = fake_skaha.add_session()
    with pytest.raises(AuthError):
        Session(url=fake_skaha.url, token="nope").destroy([sid])
    assert len(fake_skaha.live_sessions()) == 1


def test_delete_on_an_old_server_reports_unknown_ids(session, fake_skaha):
    fake_skaha.legacy_delete = True
    sid = fake_skaha.add_session()
    outcome = reasons_of(session.destroy, [sid, "zzzzzzzz"])
    assert outcome[sid] is None
    assert "zzzzzzzz" in str(outcome["zzzzzzzz"])


def test_renew(session, fake_skaha):
    notebook = fake_skaha.add_session(type="notebook", age=3 * 86400)
    done = fake_skaha.add_session(status="Completed")
    before = session.info(notebook, errors="raise")[0].expiry_time
    outcome = reasons_of(session.renew, [notebook, done])
    assert outcome[notebook] is None
    assert "No active job" in str(outcome[done])
    assert session.info(notebook, errors="raise")[0].expiry_time > before
    renew = fake_skaha.requests_to("POST", notebook)[0]
    assert renew.params == [("action", "renew")]


def test_prune_deletes_finished_headless_sessions_only(session, fake_skaha):
    done = fake_skaha.add_session(status="Completed", name="batch-1")
    running = fake_skaha.add_session(name="batch-2")
    notebook = fake_skaha.add_session(type="notebook", status="Completed", name="nb")
    outcome = session.destroy_with()
    assert list(outcome) == [done]
    assert {s.id for s in session.fetch()} == {running, notebook}


def test_list_filters_go_to_the_server(session, fake_skaha):
    fake_skaha.add_session(type="notebook")
    fake_skaha.add_session(status="Completed")
    running = fake_skaha.add_session()
    found = session.fetch(kind="headless", status="running")
    assert [s.id for s in found] == [running]
    last = fake_skaha.requests_to("GET", r"/session$")[-1]
    assert last.params == [("type", "headless"), ("status", "Running")]


def test_lifecycle_is_seen(session, fake_skaha):
    fake_skaha.pending_seconds = 30
    fake_skaha.run_seconds = 60
    (sid,) = session.create(name="life", image="skaha/astroml", cmd="true")
    assert session.info(sid, errors="raise")[0].status == "Pending"
    fake_skaha.advance(31)
    assert session.info(sid, errors="raise")[0].status == "Running"
    fake_skaha.advance(60)
    assert session.info(sid, errors="raise")[0].status == "Completed"
    fake_skaha.advance(3600)  # the server has forgotten it: the copy kept here answers
    (kept,) = session.info(sid, errors="raise")
    assert (kept.status, kept.kept) == ("Completed", True)
    assert session.destroy(sid, errors="raise") == {sid: True}  # removes the kept copy
    with pytest.raises(NotFound):
        raise failure_of(session.info, sid)


def test_follow_logs_yields_output_until_the_session_ends(session, fake_skaha):
    sid = fake_skaha.add_session()
    fake_skaha.set_logs(sid, "a\n")
    chunks = []
    for chunk in session.follow_logs(sid, poll=0.01):
        chunks.append(chunk)
        if len(chunks) == 1:
            fake_skaha.append_logs(sid, "b\n")
        elif len(chunks) == 2:
            fake_skaha.append_logs(sid, "c\n")
            fake_skaha.set_status(sid, "Completed")
    assert "".join(chunks) == "a\nb\nc\n"


def test_platform_queries(session, fake_skaha):
    fake_skaha.add_session(cores=4, ram=16)
    stats = session.stats()
    assert stats.cores_requested == 4.0
    assert stats.ram_available_gb == pytest.approx(2048e9 / 2**30, abs=0.01)
    images = session.images(kind="headless")
    assert IMAGE in [i.id for i in images]
    assert all("headless" in i.types for i in images)
    offer = session.resources()
    assert offer.cores == [float(c) for c in range(1, 17)]
    assert offer.max_interactive_sessions == 5


def test_stats_outage_is_retried_then_reported(session, fake_skaha):
    fake_skaha.stats_outage = True
    with pytest.raises(ServerError) as caught:
        session.stats()
    assert "temporarily unavailable" in str(caught.value)
    assert "30 s" in str(caught.value)
    assert len(fake_skaha.requests_to("GET")) == 1  # waiting 30 s is not worth it


def test_open_url(session, fake_skaha):
    notebook = fake_skaha.add_session(type="notebook")
    batch = fake_skaha.add_session()
    url = session.urls(notebook, errors="raise")[notebook]
    assert url.endswith(f"?token={notebook}")
    with pytest.raises(Unsupported, match="headless"):
        raise failure_of(session.urls, batch)


def test_a_403_names_the_reason(canfar_home, fake_skaha):
    fake_skaha.forbidden.add(fake_skaha.user)
    with pytest.raises(PermissionDenied, match="Not authorized to use the skaha system"):
        Session(url=fake_skaha.url, token=fake_skaha.token).fetch()


def test_transient_failures_of_reads_are_retried(session, fake_skaha):
    fake_skaha.add_session()
    fake_skaha.inject("GET", r"/session$", status=503, headers={"Retry-After": "0"})
    fake_skaha.inject("GET", r"/session$", reset=True)
    fake_skaha.inject("GET", r"/session$", truncate=True)
    assert len(session.fetch()) == 1
    assert len(fake_skaha.requests_to("GET", r"/session$")) == 4


def test_a_timeout_is_a_connection_failure(session, fake_skaha, monkeypatch):
    # Read timeout 1 s, 1.5 s for the call: the first try times out, the second is cut short.
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "1")
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    fake_skaha.inject("GET", r"/session$", delay=3.0, times=None)
    with pytest.raises(ConnectionFailed) as caught:
        session.fetch()
    found = re.search(r"gave no complete answer within ([\d.]+) s \(2 tries\)", str(caught.value))
    assert found, str(caught.value)
    assert 1.5 <= float(found.group(1)) < 3  # the time taken: the deadline, or a little more
    assert len(fake_skaha.requests_to("GET")) == 2


def test_a_slow_create_is_not_resent(session, fake_skaha, monkeypatch):
    # The server makes the session 3 s after the create timed out (1 s): the look-up by name
    # that follows the timeout comes well before, even on a busy machine.
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "1")
    fake_skaha.inject("POST", r"/session$", delay=3.0)
    with pytest.raises(LaunchError) as caught:
        session.create(name="slow", image="skaha/astroml", cmd="true", errors="raise")
    # Not found by name when looked for at once: reported as may exist, never as failed.
    assert caught.value.ids == []
    assert caught.value.failures == {}
    assert "the session may have been created" in caught.value.uncertain[1]
    assert len(fake_skaha.requests_to("POST")) == 1


def test_connection_refused_names_the_server(canfar_home, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed) as caught:
        Session(url=f"http://127.0.0.1:{port}/skaha", token="t").fetch()
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"


@pytest.mark.parametrize("act", ["info", "events", "destroy", "renew"])
def test_an_unreachable_server_is_each_ids_failure_as_errors_says(canfar_home, monkeypatch, act):
    # errors= is one rule: a server that cannot be reached fails every id of the call, which
    # "ignore" logs and leaves out (False for destroy and renew) and "raise" reports id by id.
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = Session(url=f"http://127.0.0.1:{port}/skaha", token="t")
    ids = ["aaaaaaaa", "bbbbbbbb"]
    ignored = getattr(session, act)(ids)
    assert ignored == ({sid: False for sid in ids} if act in ("destroy", "renew") else [])
    with pytest.raises(SessionRequestError) as caught:
        getattr(session, act)(ids, errors="raise")
    assert sorted(caught.value.errors) == ids
    assert all("connection refused" in str(error) for error in caught.value.errors.values())


def test_non_json_answer_is_a_server_error(session, fake_skaha):
    fake_skaha.inject(
        "GET", r"/session$", body="<html>down for maintenance</html>", content_type="text/html"
    )
    with pytest.raises(ServerError, match="not JSON"):
        session.fetch()


def test_a_context_without_url_is_a_clear_error(canfar_home):
    from canfar_core.contexts import Context
    from canfar_plugins.skaha.client import SkahaBackend

    with pytest.raises(ConfigError, match="canfar auth login"):
        SkahaBackend(Context(name="x", backend="canfar"))


def test_five_thousand_sessions_list(session, fake_skaha):
    for i in range(5000):
        fake_skaha.add_session(name=f"bulk-{i}")
    found = session.fetch()
    assert len(found) == 5000
    assert len({s.id for s in found}) == 5000
