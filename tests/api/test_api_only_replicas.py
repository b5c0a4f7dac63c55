"""Relaunching chosen replicas from the Python API: ``create(..., only_replicas=[3, 7])``."""

from __future__ import annotations

import asyncio

import pytest

from canfar.errors import LaunchError, ValidationError
from canfar.helpers import distributed
from canfar.sessions import AsyncSession, Session
from canfar_core.models import SessionSpec

IMAGE = "images.example.org/skaha/astroml:latest"


def launched(world, ids: list[str]) -> list[tuple[str, str, str]]:
    """(name, REPLICA_ID, REPLICA_COUNT) of each launched session, in the order of ``ids``."""
    rows = []
    for sid in ids:
        record = world.sessions[sid]
        env = record.spec.replica_env(record.replica)
        rows.append((record.info.name, env["REPLICA_ID"], env["REPLICA_COUNT"]))
    return rows


def test_only_the_chosen_replicas_launch_with_their_full_launch_identity(world):
    ids = Session().create(
        name="fit", image=IMAGE, cmd="python", args=["fit.py"], replicas=100, only_replicas=[7, 3]
    )
    assert len(ids) == 2
    assert launched(world, ids) == [("fit-3", "3", "100"), ("fit-7", "7", "100")]


def test_a_relaunched_replica_gets_what_it_had_in_the_full_launch(world, monkeypatch):
    first = Session().create(name="fit", image=IMAGE, cmd="true", replicas=100)
    again = Session().create(name="fit", image=IMAGE, cmd="true", replicas=100, only_replicas=[3])
    before = world.sessions[first[2]]
    (after,) = [world.sessions[sid] for sid in again]
    assert after.info.name == before.info.name == "fit-3"
    assert after.spec.replica_env(after.replica) == before.spec.replica_env(before.replica)
    files = [f"f{i}.fits" for i in range(1000)]
    monkeypatch.setenv("REPLICA_ID", after.spec.replica_env(after.replica)["REPLICA_ID"])
    monkeypatch.setenv("REPLICA_COUNT", after.spec.replica_env(after.replica)["REPLICA_COUNT"])
    assert list(distributed.chunk(files)) == files[20:30]


def test_without_only_replicas_every_replica_launches(world):
    ids = Session().create(name="fit", image=IMAGE, cmd="true", replicas=3)
    assert [row[0] for row in launched(world, ids)] == ["fit-1", "fit-2", "fit-3"]
    assert world.specs[0].only_replicas is None


def test_any_iterable_of_numbers_is_accepted(world):
    ids = Session().create(
        name="fit", image=IMAGE, cmd="true", replicas=9, only_replicas=range(4, 6)
    )
    assert [row[0] for row in launched(world, ids)] == ["fit-4", "fit-5"]


def test_the_async_session_relaunches_the_chosen_replicas(world):
    async def main() -> list[str]:
        async with AsyncSession() as session:
            return await session.create(
                name="fit", image=IMAGE, cmd="true", replicas=10, only_replicas=[10]
            )

    ids = asyncio.run(main())
    assert launched(world, ids) == [("fit-10", "10", "10")]


def test_a_failed_chosen_replica_is_reported_by_its_number(world):
    world.fail = lambda spec, replica: "quota exceeded" if replica == 7 else None
    with pytest.raises(LaunchError, match="1 of 2 replicas failed") as caught:
        Session(errors="raise").create(
            name="fit", image=IMAGE, cmd="true", replicas=100, only_replicas=[3, 7]
        )
    assert caught.value.failures == {7: "quota exceeded"}
    assert launched(world, caught.value.ids) == [("fit-3", "3", "100")]


@pytest.mark.parametrize(
    ("only", "needle"),
    [
        ([101], "replica 101 is not between 1 and 100"),
        ([0], "replica 0 is not between 1 and 100"),
        ([-3], "replica -3 is not between 1 and 100"),
        ([3, 3], "replica 3 is chosen twice"),
        ([], "at least one replica"),
        ([2.0], "replica 2.0 is not a whole number"),
        ([True], "replica True is not a whole number"),
        (["3"], "replica '3' is not a whole number"),
        ("3,7", "must be a list of replica numbers, not '3,7'"),
        (7, "must be a list of replica numbers, not 7"),
    ],
)
def test_bad_choices_are_refused_before_anything_is_sent(world, only, needle):
    with pytest.raises(ValidationError, match=needle):
        Session().create(name="fit", image=IMAGE, cmd="true", replicas=100, only_replicas=only)
    assert world.specs == []


def test_replica_numbers_are_sorted_and_default_to_all():
    assert SessionSpec(replicas=3).replica_numbers() == [1, 2, 3]
    assert SessionSpec(replicas=100, only_replicas=[7, 3]).replica_numbers() == [3, 7]
