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
    assert result.out.splitlines() == [mixed["run"], mixed["wait"], mixed["nb"]]


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

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    result = run("ps", "--watch", "5")
    assert result.code == 130
    assert naps == [5.0, 5.0]
    assert result.out.count("STATUS") == 2
    assert "3 session(s) still pending or running" in result.err


def test_watch_alone_uses_the_default_interval(world, run, monkeypatch):
    def sleep(seconds: float) -> None:
        assert seconds == 2.0
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
