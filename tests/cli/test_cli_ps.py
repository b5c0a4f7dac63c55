"""canfar ps: which sessions it shows, and in which form."""

from __future__ import annotations

import json

import pytest

from canfar_core.models import PLATFORM_KEYS


@pytest.fixture
def mixed(world):
    """A running and a pending headless session, a running notebook, a completed job."""
    return {
        "run": world.add("run", status="Running"),
        "wait": world.add("wait", status="Pending"),
        "nb": world.add("nb", kind="notebook", status="Running"),
        "done": world.add("done", status="Completed"),
    }


def test_default_shows_pending_and_running_only(mixed, run):
    result = run("ps")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "KIND", "STATUS", "IMAGE", "STARTED"]
    assert {line.split()[0] for line in lines[2:]} == {mixed["run"], mixed["wait"], mixed["nb"]}


def test_all_includes_finished_sessions(mixed, run):
    assert mixed["done"] in run("ps", "--all").out


def test_quiet_prints_ids_only_with_no_header(mixed, run):
    result = run("ps", "-q")
    # started at the same time: by name
    assert result.out.splitlines() == [mixed["nb"], mixed["run"], mixed["wait"]]


def test_filters_by_kind_and_status(mixed, run):
    assert run("ps", "-q", "--kind", "notebook").out.split() == [mixed["nb"]]
    assert run("ps", "-q", "--status", "completed").out.split() == [mixed["done"]]
    assert run("ps", "-q", "-k", "headless", "-s", "Pending").out.split() == [mixed["wait"]]


def test_json_records_are_shaped_as_the_platform_sends_them(mixed, run):
    data = json.loads(run("ps", "--json", "--all").out)
    assert len(data) == 4
    by_id = {record["id"]: record for record in data}
    notebook = by_id[mixed["nb"]]
    assert {"id", "name", "type", "image", "status", "connectURL"} <= set(notebook)
    assert notebook["type"] == "notebook"
    assert set(notebook) <= set(PLATFORM_KEYS)
    assert json.loads(run("ps", "-o", "json", "--all").out) == data


def test_empty_list_quiet_prints_nothing_and_otherwise_a_note_on_stderr(world, run):
    world.add("done", status="Completed")
    quiet = run("ps", "-q")
    assert (quiet.code, quiet.out) == (0, "")
    assert "No " not in quiet.err
    plain = run("ps")
    assert plain.out == ""
    assert "No pending or running sessions" in plain.err
    assert json.loads(run("ps", "--json").out) == []


@pytest.mark.parametrize(
    ("argv", "needle"), [(["--status", "Finished"], "Finished"), (["--kind", "vm"], "vm")]
)
def test_unknown_filters_are_usage_errors_naming_the_value(world, run, argv, needle):
    result = run("ps", *argv)
    assert result.code == 2
    assert needle in result.err


def test_watch_redraws_until_ctrl_c_and_says_what_still_runs(mixed, run, monkeypatch):
    naps: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += seconds
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    result = run("ps", "--watch", "5")
    assert result.code == 130
    assert naps == [5.0, 5.0]
    assert result.out.count("STATUS") == 2
    assert "3 session(s) still pending or running" in result.err


def test_watch_alone_uses_the_default_interval(world, run, monkeypatch):
    def sleep(seconds: float) -> None:
        assert seconds == pytest.approx(2.0, abs=0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    assert run("ps", "--watch").code == 130


def test_watch_with_quiet_is_a_usage_error(world, run):
    assert run("ps", "--watch", "-q").code == 2


def test_backend_option_chooses_another_backend(mixed, run):
    result = run("ps", "--backend", "nowhere")
    assert result.code == 2
    assert "nowhere" in result.err
    assert "memory" in result.err


def test_sessions_are_listed_by_creation_time_then_replica_number(world, run):
    """Whatever order the backend answers in: the oldest job first, its replicas in order,
    replica 10 after replica 9, a session not started yet last."""
    started = {
        "fit-3": "2026-01-01T10:00:07Z",
        "later": "2026-01-01T11:00:00Z",
        "fit-10": "2026-01-01T10:00:05Z",
        "queued": None,
        "fit-1": "2026-01-01T10:00:06Z",
        "first": "2026-01-01T09:00:00+00:00",
        "fit-9": "2026-01-01T10:00:06Z",
    }
    ids = {}
    for name, start in started.items():
        ids[name] = world.add(name, status="Running" if start else "Pending")
        world.sessions[ids[name]].info.start_time = start
    result = run("ps", "-q")
    assert result.code == 0, result.err
    order = ["first", "fit-1", "fit-3", "fit-9", "fit-10", "later", "queued"]
    assert result.out.split() == [ids[name] for name in order]


def test_the_python_api_lists_in_the_same_order(world):
    from canfar.sessions import Session

    second, first = world.add("job-2"), world.add("job-1")
    assert [s.id for s in Session().fetch()] == [first, second]


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "0", "0.1", "soon"])
def test_watch_refuses_what_is_not_a_period(world, run, value):
    result = run("ps", f"--watch={value}")
    assert result.code == 2
    assert "Traceback" not in result.err
    assert "--watch" in result.err


def test_watch_redraws_every_n_seconds_however_long_listing_takes(world, run, monkeypatch):
    """A listing that takes 0.5 s does not stretch a 2 s period to 2.5 s."""
    import time as time_module

    from canfar.sessions import Session

    clock = [100.0]
    redraws: list[float] = []
    listing = Session.fetch

    def slow_listing(self, *args, **kwargs):
        redraws.append(clock[0])
        clock[0] += 0.5
        return listing(self, *args, **kwargs)

    def sleep(seconds: float) -> None:
        if len(redraws) == 4:
            raise KeyboardInterrupt
        clock[0] += seconds

    monkeypatch.setattr(Session, "fetch", slow_listing)
    monkeypatch.setattr(time_module, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time_module, "sleep", sleep)
    result = run("ps", "--watch", "2")
    assert result.code == 130
    assert redraws == [100.0, 102.0, 104.0, 106.0]
