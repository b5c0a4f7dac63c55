"""canfar wait: exit 0 only when every session reached the wanted status, the others named."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def _steps(world, sid: str, *statuses: str, exit_code: int | None = None) -> None:
    record = world.sessions[sid]
    record.steps = list(statuses)
    record.exit_code = exit_code


def test_waits_until_every_session_has_completed(world, run):
    first, second = world.add("fit-1", status="Pending"), world.add("fit-2", status="Pending")
    _steps(world, first, "Pending", "Running", "Completed", exit_code=0)
    _steps(world, second, "Pending", "Running", "Running", "Running", "Completed", exit_code=0)
    result = run("wait", first, second)
    assert result.code == 0, result.err
    rows = [line.split() for line in result.out.splitlines()[2:]]
    assert rows == [[first, "fit-1", "Completed", "0"], [second, "fit-2", "Completed", "0"]]


def test_a_session_that_failed_is_named_and_the_exit_code_is_1(world, run):
    good, bad = world.add("fit-1", status="Pending"), world.add("fit-2", status="Pending")
    _steps(world, good, "Pending", "Completed", exit_code=0)
    _steps(world, bad, "Pending", "Running", "Failed", exit_code=3)
    result = run("wait", "--json", good, bad)
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert errors[0].startswith(f"Error: {bad} (fit-2) failed: exit code 3")
    assert good not in "".join(errors[:-1])
    assert errors[-1] == "Error: 1 of 2 sessions did not reach Completed"
    data = json.loads(result.out)
    assert [(d["id"], d["status"], d["reached"]) for d in data] == [
        (good, "Completed", True),
        (bad, "Failed", False),
    ]


def test_status_running_stops_at_running_and_counts_completed(world, run):
    running, done = world.add("nb", status="Pending"), world.add("job", status="Pending")
    _steps(world, running, "Pending", "Running")
    _steps(world, done, "Completed", exit_code=0)
    result = run("wait", "--status", "running", "-q", running, done)
    assert result.code == 0, result.err
    assert result.out.split() == [running, done]


def test_timeout_names_the_sessions_not_there_yet(world, run):
    sid = world.add("slow", status="Running")
    result = run("wait", "--timeout", "0", sid)
    assert result.code == 1
    assert sid in result.err
    assert "still not Completed" in result.err


@pytest.mark.parametrize("status", ["Pending", "Terminating", "done"])
def test_a_status_that_cannot_be_waited_for_is_a_usage_error(world, run, status):
    sid = world.add("x")
    result = run("wait", "--status", status, sid)
    assert result.code == 2
    assert "--status" in result.err
    assert "Running, Completed or Failed" in result.err


def test_an_unknown_session_is_named(world, run):
    result = run("wait", "m9999999")
    assert result.code == 1
    assert "m9999999" in result.err


@pytest.mark.parametrize("command", ["wait", "create"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_a_usage_error(world, run, command):
    sid = world.add("x")
    argv = ["wait", sid] if command == "wait" else ["create", "--wait", "headless", "img/x:1"]
    result = run(*argv, "--timeout", "nan")
    assert result.code == 2
    assert "--timeout" in result.err


def test_the_public_clients_status_words_are_understood(world, run):
    sid = world.add("job", status="Completed")
    assert run("wait", "--status", "Succeeded", sid).code == 0
