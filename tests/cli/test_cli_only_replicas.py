"""canfar create --only-replicas: relaunching chosen replicas, and the hint that says how."""

from __future__ import annotations

import json
import re
import shlex

import pytest

IMAGE = "images.example.org/skaha/astroml:latest"


def names(world) -> list[str]:
    return [record.info.name for record in world.sessions.values()]


def hint_words(err: str) -> list[str]:
    """The words the relaunch hint says to add to the command."""
    (line,) = [line for line in err.splitlines() if line.startswith("To launch only these")]
    match = re.search(r"add (.*) to the same command", line)
    assert match, line
    return shlex.split(match.group(1))


@pytest.mark.parametrize(
    "choice",
    [
        ["--only-replicas", "3,7"],
        ["--only-replicas", "7, 3"],
        ["--only-replicas", "3", "--only-replicas", "7"],
        ["--only-replicas=3,7"],
    ],
)
def test_only_the_chosen_replicas_launch_with_their_names(world, run, choice):
    result = run("create", "headless", IMAGE, "-n", "fit", "-r", "100", *choice, "--", "true")
    assert result.code == 0, result.err
    assert names(world) == ["fit-3", "fit-7"]
    rows = [line.split() for line in result.out.splitlines()[2:]]
    assert [row[1] for row in rows] == ["fit-3", "fit-7"]
    (spec,) = world.specs
    assert spec.replica_env(7)["REPLICA_COUNT"] == "100"
    assert "Launched 2 headless sessions" in result.err


def test_a_range_of_replicas(world, run):
    result = run("create", "-q", "headless", IMAGE, "-n", "f", "-r", "20", "--only-replicas",
                 "10-12,15", "--", "true")  # fmt: skip
    assert result.code == 0, result.err
    assert names(world) == ["f-10", "f-11", "f-12", "f-15"]
    assert result.out.split() == list(world.sessions)


def test_json_names_each_launched_replica_by_its_number(world, run):
    result = run("create", "--json", "headless", IMAGE, "-n", "fit", "-r", "100",
                 "--only-replicas", "3,7", "--", "true")  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out) == list(world.sessions)
    assert names(world) == ["fit-3", "fit-7"]


@pytest.mark.parametrize(
    ("choice", "needle"),
    [
        ("3,101", "replica 101 is not between 1 and 100"),
        ("0", "replica 0 is not between 1 and 100"),
        ("3,3", "replica 3 is chosen twice"),
        ("3,x", "'x' is not a replica number"),
        ("3,,7", "'' is not a replica number"),
        ("2.5", "'2.5' is not a replica number"),
        ("9-4", "9-4 runs backwards"),
    ],
)
def test_a_bad_choice_is_a_usage_error_naming_the_value(world, run, choice, needle):
    result = run("create", "headless", IMAGE, "-r", "100", "--only-replicas", choice, "--", "true")
    assert result.code == 2, result
    assert needle in result.err
    assert result.err.startswith("Error: ")
    assert "Traceback" not in result.err
    assert world.specs == []


def test_a_partial_failure_says_how_to_launch_only_the_failed_replicas(world, run):
    world.fail = lambda spec, replica: "quota exceeded" if replica in (3, 7) else None
    argv = ["create", "-q", "headless", IMAGE, "-n", "fit", "-r", "8", "--", "true"]
    result = run(*argv)
    assert result.code == 1
    assert result.out.split() == list(world.sessions)  # ids only on stdout
    lines = result.err.splitlines()
    assert lines[:2] == [
        "Error: replica 3 (fit-3) failed: quota exceeded",
        "Error: replica 7 (fit-7) failed: quota exceeded",
    ]
    assert lines[2] == (
        "To launch only these again: add --only-replicas 3,7 to the same command "
        "(same --name and --replicas)."
    )
    assert "2 of 8 replicas failed" in result.err

    world.fail = lambda spec, replica: None
    again = run(*argv[:-2], *hint_words(result.err), "--", "true")
    assert again.code == 0, again.err
    assert sorted(names(world)) == [f"fit-{k}" for k in range(1, 9)]


def test_without_a_name_the_hint_gives_the_name_used(world, run):
    world.fail = lambda spec, replica: "boom" if replica == 2 else None
    argv = ["create", "--json", "headless", IMAGE, "-r", "3", "--", "true"]
    result = run(*argv)
    assert result.code == 1
    assert json.loads(result.out) == list(world.sessions)  # the hint is never on stdout
    used = names(world)[0].rsplit("-", 1)[0]
    words = hint_words(result.err)
    assert words == ["--name", used, "--only-replicas", "2"]
    assert "(same --replicas)" in result.err

    world.fail = lambda spec, replica: None
    again = run(*argv[:-2], *words, "--", "true")
    assert again.code == 0, again.err
    assert sorted(names(world)) == [f"{used}-{k}" for k in (1, 2, 3)]


def test_a_failure_of_a_relaunch_hints_at_the_replicas_still_missing(world, run):
    world.fail = lambda spec, replica: "boom" if replica in (4, 5, 6, 9) else None
    result = run("create", "headless", IMAGE, "-n", "f", "-r", "10", "--only-replicas",
                 "1,4-6,9", "--", "true")  # fmt: skip
    assert result.code == 1
    assert "add --only-replicas 4-6,9 to" in result.err
    assert "4 of 5 replicas failed" in result.err


def test_one_replica_gets_no_hint(world, run):
    world.fail = lambda spec, replica: "boom"
    result = run("create", "headless", IMAGE, "-n", "solo", "--", "true")
    assert result.code == 1
    assert "only-replicas" not in result.err


def test_replicas_that_ran_and_failed_under_wait_get_the_hint(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Failed"]
    world.exit_code = 1
    result = run("create", "--wait", "headless", IMAGE, "-n", "w", "-r", "3", "--only-replicas",
                 "2,3", "--", "false")  # fmt: skip
    assert result.code == 1
    assert "add --only-replicas 2,3 to the same command" in result.err
    assert "only-replicas" not in result.out
