"""``canfar create --only-replicas`` against the fake Skaha service: exactly the chosen replicas
are sent, each as it was in the full launch, and a partial failure says how to re-run it."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.fakeskaha import FakeSkaha


@pytest.fixture
def logged_in(run, fake_skaha: FakeSkaha) -> FakeSkaha:
    result = run(
        "auth", "login", "--url", fake_skaha.url, "--token-stdin", "--name", "fake",
        stdin=fake_skaha.token + "\n",
    )  # fmt: skip
    assert result.code == 0, result.err
    return fake_skaha


def sent(fake: FakeSkaha) -> list[tuple[str, str, str]]:
    """(name, REPLICA_ID, REPLICA_COUNT) of each create request, sorted by replica."""
    rows = []
    for request in fake.requests_to("POST", r"/v1/session$"):
        env = dict(pair.split("=", 1) for pair in request.values("env"))
        rows.append((str(request.param("name")), env["REPLICA_ID"], env["REPLICA_COUNT"]))
    return sorted(rows, key=lambda row: int(row[1]))


def test_only_the_chosen_replicas_are_posted(run, logged_in):
    result = run(
        "create", "headless", "skaha/astroml", "--name", "fit", "--replicas", "100",
        "--only-replicas", "7,3", "-e", "BAND=r", "-q", "--", "python", "fit.py",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert sent(logged_in) == [("fit-3", "3", "100"), ("fit-7", "7", "100")]
    assert len(result.out.split()) == 2
    assert {s.id for s in logged_in.live_sessions()} == set(result.out.split())


def test_a_bad_choice_sends_nothing(run, logged_in):
    result = run("create", "headless", "skaha/astroml", "-r", "100", "--only-replicas", "3,101",
                 "--", "true")  # fmt: skip
    assert result.code == 2
    assert result.err.strip() == "Error: replica 101 is not between 1 and 100"
    assert logged_in.requests_to("POST", r"/v1/session$") == []


def test_following_the_hint_after_a_refused_replica_completes_the_launch(run, logged_in):
    logged_in.inject("POST", r"/v1/session$", status=500, body="no nodes available")
    argv = ["create", "-q", "headless", "skaha/astroml", "--name", "fit", "--replicas", "4"]
    first = run(*argv, "--", "true")
    assert first.code == 1
    assert len(first.out.split()) == 3
    (failed,) = re.findall(r"Error: replica (\d+) \(fit-\1\) failed: .*no nodes", first.err)
    hint = [line for line in first.err.splitlines() if line.startswith("To launch only these")]
    assert hint == [
        f"To launch only these again: add --only-replicas {failed} to the same command "
        "(same --name and --replicas)."
    ]

    logged_in.clear_requests()
    words = shlex.split(re.search(r"add (.*) to the same", hint[0]).group(1))  # type: ignore[union-attr]
    again = run(*argv, *words, "--", "true")
    assert again.code == 0, again.err
    assert sent(logged_in) == [(f"fit-{failed}", failed, "4")]
    assert sorted(s.name for s in logged_in.live_sessions()) == [f"fit-{k}" for k in range(1, 5)]
