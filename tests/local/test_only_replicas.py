"""Relaunching chosen replicas on the local backend: real processes, the installed command."""

from __future__ import annotations

import errno

import pytest

from canfar_core.errors import LaunchError
from tests.local.conftest import wait_final
from tests.local.test_cli import canfar
from tests.local.test_headless import _failing_spawn


def test_only_the_chosen_replicas_run_with_their_ids_count_and_names(session):
    done = canfar(
        "create", "headless", "img/x:1", "--runtime", "host", "--name", "fit", "--replicas", "5",
        "--only-replicas", "2,4", "-q",
        "--", "sh", "-c", 'echo "$REPLICA_ID of $REPLICA_COUNT"',
    )  # fmt: skip
    ids = done.stdout.split()
    assert len(ids) == 2
    infos = wait_final(session, ids)
    assert [infos[sid].name for sid in ids] == ["fit-2", "fit-4"]
    assert {i.status for i in infos.values()} == {"Completed"}
    assert [canfar("logs", sid).stdout for sid in ids] == ["2 of 5\n", "4 of 5\n"]
    assert sorted(canfar("ps", "--all", "-q").stdout.split()) == sorted(ids)


def test_a_chosen_replica_that_cannot_start_is_reported_by_its_number(session, monkeypatch):
    _failing_spawn(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(LaunchError, match="1 of 3 replicas failed") as caught:
        session.create(
            name="part",
            image="img/x:1",
            cmd="true",
            replicas=10,
            only_replicas=[9, 3, 6],
            errors="raise",
        )
    assert caught.value.failures == {6: "could not start: No space left on device"}
    assert [session.info(sid, errors="raise")[0].name for sid in caught.value.ids] == [
        "part-3",
        "part-9",
    ]
