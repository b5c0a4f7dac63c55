"""The Python API of canfar.sessions, on an in-memory backend."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from canfar.errors import (
    CanfarError,
    ConnectionFailed,
    LaunchError,
    NotFound,
    PolicyError,
    Unsupported,
    ValidationError,
    WaitTimeout,
)
from canfar.models import SessionInfo
from canfar.sessions import AsyncSession, Session
from canfar_core import hookimpl
from tests.failures import reasons_of

TUTORIAL = """
from canfar.sessions import Session
session = Session()
ids = session.create(name="galaxy-processing-batch", kind="headless", image="skaha/astroml:latest", cmd="python", args=["my_script.py"], replicas=100)
"""  # noqa: E501 (the tutorial, verbatim)
IMAGE = "images.example.org/skaha/astroml:latest"


def test_tutorial_snippet_runs_unchanged(world):
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(TUTORIAL), namespace)
    ids = namespace["ids"]
    assert isinstance(ids, list)
    assert len(ids) == 100
    assert len(set(ids)) == 100
    (spec,) = world.specs
    assert (spec.cmd, spec.args, spec.kind, spec.replicas) == (
        "python",
        ["my_script.py"],
        "headless",
        100,
    )
    listed = {s.id for s in Session().fetch()}
    assert listed == set(ids)


def test_replicas_are_named_and_numbered_in_order(world):
    ids = Session().create(name="fit", image=IMAGE, cmd="python", args=["a.py"], replicas=3)
    infos = [Session().info(i, errors="raise")[0] for i in ids]
    assert [i.name for i in infos] == ["fit-1", "fit-2", "fit-3"]
    spec = world.specs[0]
    assert [spec.replica_env(k)["REPLICA_ID"] for k in (1, 2, 3)] == ["1", "2", "3"]
    assert spec.replica_env(2)["REPLICA_COUNT"] == "3"


def test_create_without_a_name_gets_one_from_the_image(world):
    (sid,) = Session().create(image=IMAGE, cmd="true")
    assert Session().info(sid, errors="raise")[0].name.startswith("astroml-")


def test_args_given_as_a_string_are_split_like_a_shell(world):
    Session().create(image=IMAGE, cmd="python", args="fit.py --label 'two words'")
    assert world.specs[0].args == ["fit.py", "--label", "two words"]


def test_positional_arguments_follow_the_platform_clients_order(world):
    with pytest.raises(ValidationError, match="cores must be a number"):
        Session().create("job", IMAGE, "headless")  # type: ignore[arg-type]
    assert world.specs == []


def test_fetch_filters_by_kind_and_status(world):
    world.add("nb", kind="notebook", status="Running")
    done = world.add("old", status="Completed")
    session = Session()
    assert {s.name for s in session.fetch(kind="notebook")} == {"nb"}
    assert [s.id for s in session.fetch(status="completed")] == [done]
    assert all(isinstance(s, SessionInfo) for s in session.fetch())


@pytest.mark.parametrize(
    ("kwargs", "needle"), [({"status": "Finished"}, "Finished"), ({"kind": "headles"}, "headles")]
)
def test_fetch_refuses_unknown_filters(world, kwargs, needle):
    with pytest.raises(ValidationError, match=needle):
        Session().fetch(**kwargs)


def test_destroy_removes_and_reports_each_id(world):
    ids = Session().create(name="x", image=IMAGE, cmd="true", replicas=2)
    result = reasons_of(Session().destroy, [*ids, "m9999999"])
    assert result[ids[0]] is None
    assert result[ids[1]] is None
    assert "m9999999" in result["m9999999"]
    assert Session().fetch() == []


def test_destroy_one_id_as_a_string(world):
    (sid,) = Session().create(image=IMAGE, cmd="true")
    assert Session().destroy(sid) == {sid: True}


@pytest.mark.parametrize("method", ["destroy", "renew"])
def test_a_call_failing_whole_is_false_for_each_id_under_ignore(world, monkeypatch, caplog, method):
    ids = Session().create(name="x", image=IMAGE, cmd="true", replicas=2)
    session = Session()
    name = "delete" if method == "destroy" else method

    def down(session_ids):
        raise Unsupported(f"{name} is out of order")

    monkeypatch.setattr(session.backend, name, down)
    assert getattr(session, method)(ids, errors="ignore") == dict.fromkeys(ids, False)
    logged = [r.getMessage() for r in caplog.records if "out of order" in r.getMessage()]
    assert len(logged) == 2
    with pytest.raises(Unsupported, match="out of order"):
        getattr(session, method)(ids, errors="raise")


def test_destroy_refuses_ids_that_are_not_ids_before_sending(world):
    for bad in ("../context", "a b", ""):
        with pytest.raises(ValidationError):
            Session().destroy(bad)
    with pytest.raises(ValidationError, match="no session id"):
        Session().destroy([])
    assert world.delete_calls == []


def test_destroy_with_matches_prefix_ignoring_case_and_defaults_to_completed_headless(world):
    keep_running = world.add("batch-1", status="Running")
    gone = world.add("batch-2", status="Completed")
    other = world.add("other-1", status="Completed")
    notebook = world.add("batch-nb", kind="notebook", status="Completed")
    result = Session().destroy_with(prefix="BATCH")
    assert result == {gone: True}
    assert set(world.sessions) == {keep_running, other, notebook}


def test_destroy_with_several_statuses_and_nothing_matching(world):
    failed = world.add("a", status="Failed")
    done = world.add("b", status="Completed")
    assert Session().destroy_with(prefix="zzz") == {}
    assert set(Session().destroy_with(status=["Failed", "Completed"])) == {failed, done}


def test_wait_returns_when_every_session_runs(world):
    ids = Session().create(name="w", image=IMAGE, cmd="true", replicas=4)
    seen: list[dict[str, SessionInfo]] = []
    states = Session().wait(ids, poll=0, progress=seen.append)
    assert {s.status for s in states.values()} == {"Running"}
    assert set(states) == set(ids)
    assert seen
    assert seen[-1] == states


def test_wait_for_running_counts_an_ended_session_as_arrived(world):
    world.lifecycle = ["Pending", "Failed"]
    (sid,) = Session().create(image=IMAGE, cmd="false")
    assert Session().wait(sid, poll=0)[sid].status == "Failed"


def test_wait_for_completed_returns_when_a_replica_failed_instead(world):
    world.lifecycle = ["Pending", "Running", "Failed"]
    ids = Session().create(name="batch", image=IMAGE, cmd="false", replicas=3)
    states = Session().wait(ids, status="Completed", timeout=30, poll=0)
    assert {s.status for s in states.values()} == {"Failed"}


def test_wait_timeout_names_the_sessions_still_pending(world):
    world.lifecycle = ["Pending"]
    ids = Session().create(name="slow", image=IMAGE, cmd="true", replicas=2)
    with pytest.raises(WaitTimeout) as caught:
        Session().wait(ids, status="Completed", timeout=0, poll=0)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, CanfarError)
    assert caught.value.pending == ids
    assert all(sid in str(caught.value) for sid in ids)


def test_wait_reports_a_session_that_disappears(world):
    world.lifecycle = ["Pending"]
    (sid,) = Session().create(image=IMAGE, cmd="true")
    world.sessions.clear()
    with pytest.raises(NotFound, match=sid):
        Session().wait(sid, poll=0)


def test_wait_refuses_an_unknown_status(world):
    with pytest.raises(ValidationError, match="Done"):
        Session().wait("m0000001", status="Done")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "bad_name"}, "bad_name"),
        ({"name": "-x"}, "-x"),
        ({"replicas": 0}, "0"),
        ({"replicas": 257}, "257"),
        ({"cores": -1}, "-1"),
        ({"ram": 0}, "ram"),
        ({"gpu": 1.5}, "1.5"),
        ({"env": {"1BAD": "x"}}, "1BAD"),
        ({"kind": "spaceship"}, "spaceship"),
        ({"image": "has space"}, "has space"),
        ({"kind": "notebook", "cmd": "python"}, "notebook"),
        ({"kind": "desktop", "cmd": None, "args": [], "replicas": 2}, "2"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_sent(world, kwargs, needle):
    request = {"name": "ok", "image": IMAGE, "cmd": "true", **kwargs}
    with pytest.raises(ValidationError, match=needle):
        Session().create(**request)
    assert world.specs == []


def test_env_values_may_contain_equals_signs(world):
    Session().create(image=IMAGE, cmd="env", env={"QUERY": "a=b=c"})
    assert world.specs[0].env["QUERY"] == "a=b=c"


class Policy:
    def __init__(self) -> None:
        self.launched: list[list[str]] = []

    @hookimpl
    def canfar_prepare_session(self, spec):
        if spec.replicas > 5:
            raise PolicyError("at most 5 replicas here")
        spec.env["SITE"] = "test"

    @hookimpl
    def canfar_session_launched(self, spec, ids):
        self.launched.append(list(ids))


def test_prepare_session_runs_for_every_launch_from_the_api(world, canfar_plugin):
    policy = Policy()
    canfar_plugin(policy, name="policy")
    ids = Session().create(image=IMAGE, cmd="true", replicas=2)
    assert world.specs[0].env["SITE"] == "test"
    assert policy.launched == [ids]
    with pytest.raises(PolicyError, match="at most 5"):
        Session().create(image=IMAGE, cmd="true", replicas=6)
    assert len(world.specs) == 1


def test_a_partial_launch_raises_with_the_ids_that_launched(world):
    world.fail = lambda spec, replica: "no capacity" if replica in (2, 4) else None
    with pytest.raises(LaunchError) as caught:
        Session().create(name="p", image=IMAGE, cmd="true", replicas=4, errors="raise")
    assert len(caught.value.ids) == 2
    assert caught.value.failures == {2: "no capacity", 4: "no capacity"}
    assert "2 of 4" in str(caught.value)
    assert {s.name for s in Session().fetch()} == {"p-1", "p-3"}


class Unreachable:
    @hookimpl
    def canfar_register_backends(self, register):
        import requests

        from canfar_core.backend import Backend

        class Broken(Backend):
            def list(self, kind=None, status=None):
                raise requests.ConnectionError("Max retries exceeded with url: /session")

        register("broken", Broken)


def test_network_errors_never_escape_as_library_exceptions(canfar_home, canfar_plugin):
    canfar_plugin(Unreachable(), name="unreachable")
    with pytest.raises(ConnectionFailed, match="Max retries"):
        Session(backend="broken").fetch()


def test_unsupported_operations_name_the_backend(canfar_home, canfar_plugin):
    canfar_plugin(Unreachable(), name="unreachable")
    with pytest.raises(Unsupported, match="stats"):
        Session(backend="broken").stats()


def test_session_reports_its_context_and_closes(world):
    with Session() as session:
        assert session.context.backend == "memory"
        assert "memory" in repr(session)


def test_unknown_backend_lists_the_known_ones(world):
    with pytest.raises(ValidationError, match=r"nope.*memory"):
        Session(backend="nope").fetch()


def test_url_needs_a_token(canfar_home):
    with pytest.raises(ValidationError, match="token"):
        Session(url="https://example.org/skaha")


def test_async_session_launches_and_watches_many_at_once(world):
    async def main() -> tuple[list[str], list[SessionInfo], dict[str, SessionInfo]]:
        async with AsyncSession() as session:
            ids = await session.create(name="a", image=IMAGE, cmd="true", replicas=5)
            found = await asyncio.gather(*(session.info(i, errors="raise") for i in ids))
            infos = [info for one in found for info in one]
            states = await session.wait(ids, poll=0)
            return ids, list(infos), states

    ids, infos, states = asyncio.run(main())
    assert [i.id for i in infos] == ids
    assert all(s.status == "Running" for s in states.values())


def test_async_session_has_every_method_of_session_as_a_coroutine():
    names = [n for n in vars(Session) if not n.startswith("_") and callable(getattr(Session, n))]
    skipped = {"build_spec", "launch", "kinds", "validate"}
    for name in set(names) - skipped:
        assert asyncio.iscoroutinefunction(getattr(AsyncSession, name)) or name == "follow_logs", (
            name
        )


def test_async_follow_logs_and_wait_timeout(world):
    world.lifecycle = ["Pending"]

    async def main() -> list[str]:
        session = AsyncSession()
        (sid,) = await session.create(image=IMAGE, cmd="true")
        world.log_chunks[sid] = ["one\n", "two\n"]
        chunks = [chunk async for chunk in session.follow_logs(sid)]
        with pytest.raises(WaitTimeout):
            await session.wait(sid, status="Completed", timeout=0, poll=0)
        return chunks

    assert asyncio.run(main()) == ["one\n", "two\n"]


def test_async_session_is_importable_from_every_documented_place():
    import canfar.sessions
    import canfar_core.sessions
    from canfar.sessions import _Asynchronous as Defined

    assert issubclass(canfar.sessions.AsyncSession, Defined)
    assert canfar.sessions.AsyncSession.sync_class is canfar.sessions.Session
    assert not hasattr(canfar_core.sessions, "AsyncSession")  # no import circle in the core


def test_importing_the_session_api_does_not_start_an_event_loop_library():
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from canfar.sessions import AsyncSession, Session\n"
        "print('asyncio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "False\n", "")


class _ListOnly:
    """A backend written without subclassing Backend: it has ``list`` and nothing newer."""

    name = "list-only"

    def __init__(self, sessions: list[SessionInfo]) -> None:
        self.sessions = sessions
        self.asked: list[tuple[str | None, str | None]] = []

    def list(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        self.asked.append((kind, status))
        return [s for s in self.sessions if status is None or s.status == status]


def test_matching_several_statuses_on_a_backend_with_list_only(
    canfar_home, canfar_plugin, monkeypatch
):
    sessions = [
        SessionInfo(
            id=f"s{n}", name=f"job-{n}", kind="headless", image="img", status=status, backend="x"
        )
        for n, status in enumerate(["Running", "Completed", "Pending", "Failed"])
    ]
    backend = _ListOnly(sessions)

    class Plugin:
        @hookimpl
        def canfar_register_backends(self, register):
            register("list-only", lambda context: backend)

    canfar_plugin(Plugin(), name="list-only-backend")
    monkeypatch.setenv("CANFAR_BACKEND", "list-only")
    found = Session().fetch(status=["running", "pending"])
    assert [s.id for s in found] == ["s0", "s2"]
    assert [s.id for s in Session().fetch(status="Failed")] == ["s3"]
    assert backend.asked == [(None, None), (None, "Failed")]  # one status: asked of the server
