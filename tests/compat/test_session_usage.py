"""Each usage the platform client documents for ``Session``, run here: the return shapes, and
what reached the server (the in-repo fake Skaha service) or this machine (the local backend)."""

from __future__ import annotations

import base64
import itertools
import logging
import time

import pytest

from canfar.errors import ValidationError
from canfar.exceptions.session import SessionRequestError
from canfar.sessions import AsyncSession, Session

IMAGE = "images.canfar.net/skaha/terminal:1.1.2"


def launches(fake) -> list:
    return fake.requests_to("POST", r"/session$")


# -- create ------------------------------------------------------------------------------------


def test_create_takes_the_documented_positional_order(fake_skaha, skaha_context):
    with Session() as session:
        ids = session.create("fit", IMAGE, 2, 4, "headless", 1, "python", "run.py --x 1")
    assert isinstance(ids, list)
    assert len(ids) == 1
    (sent,) = launches(fake_skaha)
    assert sent.param("name") == "fit"
    assert sent.param("cores") == "2"
    assert sent.param("ram") == "4"
    assert sent.param("gpus") == "1"
    assert sent.param("cmd") == "python"
    assert sent.param("args") == "run.py --x 1"


def test_create_with_gpu_by_keyword_sends_it(fake_skaha, skaha_context):
    with Session() as session:
        session.create(name="train", image=IMAGE, kind="headless", cmd="true", gpu=1)
    assert launches(fake_skaha)[0].param("gpus") == "1"


def test_create_replicas_returns_every_id(fake_skaha, skaha_context):
    with Session() as session:
        ids = session.create(name="batch", image=IMAGE, cmd="python", args="run.py", replicas=3)
    assert len(ids) == 3
    assert sorted(r.param("name") for r in launches(fake_skaha)) == [
        "batch-1",
        "batch-2",
        "batch-3",
    ]


def test_an_unknown_keyword_is_a_type_error_and_nothing_is_sent(fake_skaha, skaha_context):
    with Session() as session, pytest.raises(TypeError, match="'priority'"):
        session.create(name="x", image=IMAGE, cmd="true", priority=5)
    assert launches(fake_skaha) == []


def test_a_value_of_the_wrong_type_is_a_clear_error(fake_skaha, skaha_context):
    with Session() as session, pytest.raises(ValidationError, match="replicas"):
        session.create(name="x", image=IMAGE, cmd="true", replicas="three")
    assert launches(fake_skaha) == []


def test_a_partial_launch_is_logged_and_returns_the_launched_ids(fake_skaha, skaha_context, caplog):
    fake_skaha.inject("POST", r"/session$", 400, body="quota exceeded")
    caplog.set_level(logging.WARNING, logger="canfar")
    with Session() as session:
        ids = session.create(name="part", image=IMAGE, cmd="true", replicas=2)
    assert len(ids) == 1
    assert "quota exceeded" in caplog.text


def test_a_partial_launch_raises_when_asked(fake_skaha, skaha_context):
    fake_skaha.inject("POST", r"/session$", 400, body="quota exceeded")
    with Session() as session, pytest.raises(SessionRequestError) as caught:
        session.create(name="part", image=IMAGE, cmd="true", replicas=2, errors="raise")
    assert len(caught.value.results) == 1
    assert list(caught.value.errors) in ([1], [2])


def test_a_private_image_sends_the_registry_login_with_the_launch_only(fake_skaha, skaha_context):
    config = {"registry": {"username": "me", "secret": "s3cret"}}
    with Session(config=config) as session:
        (sid,) = session.create(name="private", image=IMAGE, cmd="true")
        session.info(sid)
    expected = base64.b64encode(b"me:s3cret").decode()
    (launch,) = launches(fake_skaha)
    assert launch.header("x-skaha-registry-auth") == expected
    others = [r for r in fake_skaha.requests if r is not launch]
    assert others
    assert all(r.header("x-skaha-registry-auth") is None for r in others)


# -- looking ----------------------------------------------------------------------------------


def test_info_takes_one_id_or_many_and_returns_a_list(fake_skaha, skaha_context):
    first = fake_skaha.add_session(name="a", status="Running")
    second = fake_skaha.add_session(name="b", status="Running")
    with Session() as session:
        one = session.info(first)
        both = session.info([first, second])
    assert [s["id"] for s in one] == [first]
    assert one[0]["status"] == "Running"
    assert [s["name"] for s in both] == ["a", "b"]


def test_info_of_an_unknown_id_is_logged_and_left_out(fake_skaha, skaha_context, caplog):
    known = fake_skaha.add_session(name="a")
    caplog.set_level(logging.WARNING, logger="canfar")
    with Session() as session:
        found = session.info([known, "zzzzzzzz"])
    assert [s["id"] for s in found] == [known]
    assert "zzzzzzzz" in caplog.text


def test_info_raises_per_call_when_asked(fake_skaha, skaha_context):
    known = fake_skaha.add_session(name="a")
    with Session() as session, pytest.raises(SessionRequestError) as caught:
        session.info([known, "zzzzzzzz"], errors="raise")
    assert [s["id"] for s in caught.value.results] == [known]
    assert list(caught.value.errors) == ["zzzzzzzz"]


def test_canfar_errors_sets_the_default(fake_skaha, skaha_context, monkeypatch):
    monkeypatch.setenv("CANFAR_ERRORS", "raise")
    with Session() as session:
        with pytest.raises(SessionRequestError):
            session.info("zzzzzzzz")
        assert session.info("zzzzzzzz", errors="ignore") == []


def test_logs_returns_text_by_id(fake_skaha, skaha_context):
    sid = fake_skaha.add_session(name="a", logs="line 1\n\tline 2\n")
    with Session() as session:
        assert session.logs(sid) == {sid: "line 1\n\tline 2\n"}


def test_verbose_logs_go_to_the_sessions_logger(fake_skaha, skaha_context, caplog):
    sid = fake_skaha.add_session(name="a", logs="hello from the job\n")
    caplog.set_level(logging.INFO, logger="canfar.sessions")
    with Session() as session:
        assert session.logs(sid, verbose=True) is None
    assert "hello from the job" in caplog.text
    assert caplog.records[-1].name == "canfar.sessions"


def test_events_are_a_list_of_one_entry_dicts(fake_skaha, skaha_context):
    first = fake_skaha.add_session(name="a")
    second = fake_skaha.add_session(name="b")
    with Session() as session:
        events = session.events([first, second])
    assert [list(entry) for entry in events] == [[first], [second]]
    assert all(isinstance(text, str) for entry in events for text in entry.values())
    asked = fake_skaha.requests_to("GET", r"/session/")
    assert sorted(r.path.rsplit("/", 1)[-1] for r in asked) == sorted([first, second])
    assert {r.param("view") for r in asked} == {"events"}


def test_fetch_filters_by_kind_and_status(fake_skaha, skaha_context):
    fake_skaha.add_session(name="nb", type="notebook", status="Running")
    fake_skaha.add_session(name="job", status="Running")
    with Session() as session:
        found = session.fetch(kind="notebook", status="Running")
    assert [s["name"] for s in found] == ["nb"]
    listing = fake_skaha.requests_to("GET", r"/session$")[-1]
    assert (listing.param("type"), listing.param("status")) == ("notebook", "Running")


def test_stats_reads_as_the_servers_record(fake_skaha, skaha_context):
    with Session() as session:
        stats = session.stats()
    assert set(stats) >= {"cores", "ram"}
    assert "requestedCPUCores" in stats["cores"]
    assert fake_skaha.requests_to("GET")[-1].param("view") == "stats"


def test_connect_opens_running_sessions_in_the_browser(fake_skaha, skaha_context, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    running = fake_skaha.add_session(name="nb", type="notebook", status="Running")
    pending = fake_skaha.add_session(name="nb2", type="notebook", status="Pending")
    with Session() as session:
        assert session.connect([running, pending]) is None
    assert len(opened) == 1
    assert running in opened[0]


# -- ending -----------------------------------------------------------------------------------


def test_destroy_answers_true_for_each_deleted_session(fake_skaha, skaha_context):
    ids = [fake_skaha.add_session(name=f"j{n}") for n in range(3)]
    with Session() as session:
        result = session.destroy(ids)
    assert result == dict.fromkeys(ids, True)
    assert all(result.values())
    assert len(fake_skaha.requests_to("DELETE")) == 3
    assert fake_skaha.live_sessions() == []


def test_destroy_answers_false_for_a_session_that_was_not_deleted(
    fake_skaha, skaha_context, caplog
):
    kept = fake_skaha.add_session(name="kept")
    gone = fake_skaha.add_session(name="gone")
    fake_skaha.inject("DELETE", kept, 403, body="not yours")
    caplog.set_level(logging.WARNING, logger="canfar")
    with Session() as session:
        result = session.destroy([kept, gone])
    assert result == {kept: False, gone: True}
    assert not all(result.values())
    assert kept in caplog.text
    assert [s.id for s in fake_skaha.live_sessions()] == [kept]


def test_destroy_with_a_prefix_deletes_finished_headless_sessions(fake_skaha, skaha_context):
    done = fake_skaha.add_session(name="batch-1", status="Completed")
    fake_skaha.add_session(name="batch-2", status="Running")
    fake_skaha.add_session(name="other", status="Completed")
    with Session() as session:
        assert session.destroy_with("batch-") == {done: True}


def test_destroy_with_a_regular_expression(fake_skaha, skaha_context):
    matched = fake_skaha.add_session(name="fit-12", status="Completed")
    fake_skaha.add_session(name="fit-x", status="Completed")
    fake_skaha.add_session(name="prefit-3", status="Completed")
    with Session() as session:
        assert session.destroy_with(r"^fit-\d+$", kind="headless", status="Succeeded") == {
            matched: True
        }


def test_renew_answers_true_per_id(fake_skaha, skaha_context):
    sid = fake_skaha.add_session(name="nb", type="notebook", status="Running")
    with Session() as session:
        assert session.renew(sid) == {sid: True}
    assert fake_skaha.requests_to("POST", r"/session/" + sid)


# -- the client's settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": 301}, "timeout"),
        ({"timeout": "soon"}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 129}, "concurrency"),
        ({"concurrency": 2.5}, "concurrency"),
        ({"errors": "loud"}, "errors"),
        ({"token": 5, "url": "https://x.invalid/skaha"}, "token"),
    ],
)
def test_settings_out_of_range_are_refused(skaha_context, kwargs, named):
    with pytest.raises(ValidationError, match=named):
        Session(**kwargs)


@pytest.mark.parametrize(
    ("variable", "value"), [("CANFAR_TIMEOUT", "0"), ("CANFAR_CONCURRENCY", "500")]
)
def test_settings_from_the_environment_are_checked(skaha_context, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable):
        Session()


def test_an_unknown_setting_is_a_type_error():
    with pytest.raises(TypeError):
        Session(transport=object())  # type: ignore[call-arg]


def test_a_url_and_token_need_no_saved_login(fake_skaha, canfar_home):
    with Session(url=fake_skaha.url, token=fake_skaha.token, timeout=5, concurrency=2) as session:
        assert session.fetch() == []
    assert fake_skaha.requests_to("GET")[-1].header("Authorization") == f"Bearer {fake_skaha.token}"


def test_concurrency_bounds_requests_in_flight(fake_skaha, skaha_context):
    fake_skaha.inject("DELETE", r"/session/", delay=0.3, times=None)
    ids = [fake_skaha.add_session(name=f"j{n}") for n in range(4)]
    with Session(concurrency=1) as session:
        session.destroy(ids)
    times = sorted(r.time for r in fake_skaha.requests_to("DELETE"))
    assert all(later - earlier >= 0.25 for earlier, later in itertools.pairwise(times))


def test_timeout_is_the_wait_for_an_answer(fake_skaha, skaha_context):
    from canfar.errors import ConnectionFailed

    fake_skaha.inject("GET", r"/session$", delay=3.0, times=None)
    started = time.monotonic()
    with Session(timeout=1) as session, pytest.raises(ConnectionFailed, match="within"):
        session.fetch()
    assert time.monotonic() - started < 2.9


# -- the same on this machine -----------------------------------------------------------------


def test_the_local_backend_answers_in_the_same_shapes(canfar_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Session(backend="local") as session:
        ids = session.create("here", "python:3", None, None, "headless", None, "echo", "hi")
        session.wait(ids, "Completed", timeout=30)
        (record,) = session.info(ids)
        assert record["status"] == "Completed"
        assert session.logs(ids) == {ids[0]: "hi\n"}
        assert [list(e) for e in session.events(ids)] == [ids]
        assert session.destroy_with("here") == {ids[0]: True}
        assert session.destroy(ids) == {ids[0]: False}


def test_the_local_backend_refuses_unknown_keywords(canfar_home):
    with Session(backend="local") as session, pytest.raises(TypeError, match="runtime, workdir"):
        session.create(name="x", image="python:3", cmd="true", priority=1)


def test_async_session_takes_the_same_calls(fake_skaha, skaha_context):
    import asyncio

    async def main() -> tuple:
        async with AsyncSession(errors="ignore") as session:
            ids = await session.create("a", IMAGE, cmd="true", replicas=2)
            infos = await session.info(ids)
            deleted = await session.destroy(ids)
            return ids, infos, deleted

    ids, infos, deleted = asyncio.run(main())
    assert [s["id"] for s in infos] == ids
    assert deleted == dict.fromkeys(ids, True)


def test_a_certificate_from_the_environment_is_used_for_the_url(canfar_home, monkeypatch, tmp_path):
    cert = tmp_path / "proxy.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("CANFAR_URL", "https://sp.invalid/skaha")
    monkeypatch.setenv("CANFAR_CERTIFICATE", str(cert))
    session = Session()
    assert (session.context.url, session.context.auth) == ("https://sp.invalid/skaha", "x509")
    assert session.context.options["cert"] == str(cert)
    token = Session(token="abc")
    assert (token.context.auth, token.context.credentials()["token"]) == ("token", "abc")


def test_the_documented_private_image_snippet_runs(fake_skaha, skaha_context):
    from canfar.models.config import Configuration
    from canfar.models.registry import ContainerRegistry

    config = Configuration(registry=ContainerRegistry(username="username", secret="CLI_SECRET"))
    with Session(config=config) as session:
        ids = session.create(
            name="private-session",
            image="images.canfar.net/project/private-image:latest",
            kind="headless",
            cmd="python",
            args="/app/run.py",
        )
    assert len(ids) == 1
    expected = base64.b64encode(b"username:CLI_SECRET").decode()
    assert launches(fake_skaha)[0].header("x-skaha-registry-auth") == expected
    assert "CLI_SECRET" not in repr(config)
