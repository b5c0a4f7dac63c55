"""One Session: the Python API and its async twin cannot disagree, records are the documented
dictionaries, ``errors=`` is one rule, and a backend gets every optional member's default."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest

import canfar.context
from canfar.sessions import AsyncSession, Session
from canfar_core import hookimpl
from canfar_core.errors import LaunchRequestError, ServerError, SessionRequestError
from canfar_core.models import SessionInfo
from tests.api.memory_backend import World

IMAGE = "images.example.org/skaha/astroml:latest"


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and not isinstance(member, type)  # not ``sync_class``
    }


def test_async_session_has_every_method_of_session_with_its_signature():
    sync, asynchronous = _public(Session), _public(AsyncSession)
    assert set(asynchronous) == set(sync)
    for name, signature in sync.items():
        assert asynchronous[name] == signature, name
        method = getattr(AsyncSession, name)
        generator = inspect.isgeneratorfunction(getattr(Session, name))
        assert (inspect.isasyncgenfunction if generator else inspect.iscoroutinefunction)(method)
    assert inspect.signature(AsyncSession) == inspect.signature(Session)


def test_a_method_added_to_session_appears_on_the_async_session():
    from canfar._asynchronous import asynchronous

    class Mine(Session):
        def hello(self, who: str, *, loud: bool = False) -> str:
            return f"hello {who}{'!' if loud else ''}"

    derived = asynchronous(Mine)
    assert inspect.signature(derived.hello) == inspect.signature(Mine.hello)
    assert asyncio.run(derived(backend="local").hello("you", loud=True)) == "hello you!"


def test_async_session_settings_read_back_as_given(canfar_home):
    session = AsyncSession(backend="local", concurrency=64, timeout=30, errors="raise")
    assert (session.concurrency, session.timeout, session.errors) == (64, 30, "raise")
    assert session.context.backend == "local"
    with pytest.raises(AttributeError):
        session.no_such_setting  # noqa: B018


def test_async_wait_rides_out_a_passing_server_error(world: World):
    (sid,) = Session().create(name="w", image=IMAGE, cmd="true")
    failures = iter([ServerError("HTTP 503: try again", status=503)])

    def flaky(session_id: str) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    world.on_info = flaky
    states = asyncio.run(AsyncSession().wait(sid, status="Running", poll=0))
    assert states[sid].status == "Running"


def test_records_are_the_documented_dictionaries(world: World):
    (sid,) = Session().create(name="rec", image=IMAGE, cmd="true")
    with Session() as session:
        records = [*session.info(sid), *session.fetch(), session.stats(), session.resources()]
    records.append(canfar.context.Context().resources())
    for record in records:
        assert isinstance(record, dict), type(record)
        assert json.loads(json.dumps(record)) == dict(record)
    info = records[0]
    assert (info["id"], info["name"], info["type"]) == (sid, "rec", "headless")
    assert info.id == sid  # typed attributes besides
    assert records[2]["cores"]["cpuCoresAvailable"] == 64.0
    assert records[3]["cores"]["options"] == [1, 2, 4, 8]
    info.status = "Completed"
    assert info["status"] == "Completed"  # the dictionary follows its fields


def test_create_with_errors_ignore_returns_nothing_when_no_replica_launched(world, caplog):
    world.fail = lambda spec, replica: "quota exceeded"
    assert Session().create(name="none", image=IMAGE, cmd="true", replicas=2) == []
    assert caplog.text.count("quota exceeded") == 2
    with pytest.raises(LaunchRequestError) as caught:
        Session(errors="raise").create(name="none", image=IMAGE, cmd="true", replicas=2)
    assert sorted(caught.value.errors) == [1, 2]


def test_errors_is_one_rule_for_reading_and_ending(world: World):
    kept = world.add("kept")
    ignored = Session()
    assert [s.id for s in ignored.info([kept, "m9999999"])] == [kept]
    assert ignored.logs([kept, "m9999999"]) == {kept: ""}
    assert ignored.destroy(["m9999999"]) == {"m9999999": False}
    with pytest.raises(SessionRequestError) as caught:
        Session(errors="raise").renew([kept, "m9999999"])
    assert caught.value.results == {kept: True, "m9999999": False}
    assert "m9999999" in str(caught.value.errors["m9999999"])


def test_fan_out_follows_the_concurrency_setting(world: World):
    import threading
    import time

    ids = [world.add(f"j{n}") for n in range(8)]
    running, most = [0], [0]
    lock = threading.Lock()

    def work(session_id: str) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return session_id

    assert Session(concurrency=3).for_each(ids, work) == {i: i for i in ids}
    assert 2 <= most[0] <= 3


class _Plain:
    """A backend that does not subclass Backend and has only what it needs."""

    name = "plain"

    def __init__(self, context: object) -> None:
        self.context = context

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        return []


def test_a_backend_that_does_not_subclass_backend_gets_the_defaults(
    canfar_home, canfar_plugin, monkeypatch
):
    class Plugin:
        @hookimpl
        def canfar_register_backends(self, register):
            register("plain", _Plain)

    canfar_plugin(Plugin(), name="plain-backend")
    monkeypatch.setenv("CANFAR_BACKEND", "plain")
    with Session() as session:
        assert session.available() is True
        assert session.fetch(status=["Running", "Pending"]) == []
        from canfar_core.models import SessionSpec

        spec = SessionSpec(image=IMAGE, name="p", cmd="true", replicas=2, options={"any": 1})
        requests = session.preview(spec)
        assert [r["name"] for r in requests] == ["p-1", "p-2"]
        assert session.backend.concurrency == 16
        assert session.backend.whoami() is None
