"""The same script runs unchanged under other engines' array jobs (built-in plugin `engines`)."""

from __future__ import annotations

import re

import pytest

from canfar.helpers import distributed
from canfar_plugins import engines

FILES = [f"img-{i:02d}.fits" for i in range(12)]


def _set(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("env", "position"),
    [
        # Slurm: --array=0-3, --array=1-4, --array=10-16:2, and MIN/MAX missing but COUNT given
        (
            {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"},
            (1, 4),
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4"},
            (4, 4),
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "14",
                "SLURM_ARRAY_TASK_MIN": "10",
                "SLURM_ARRAY_TASK_MAX": "16",
                "SLURM_ARRAY_TASK_STEP": "2",
                "SLURM_ARRAY_TASK_COUNT": "4",
            },
            (3, 4),
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "7",
                "SLURM_ARRAY_TASK_MIN": "5",
                "SLURM_ARRAY_TASK_COUNT": "6",
            },
            (3, 6),
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "7",
                "SLURM_ARRAY_TASK_MAX": "10",
                "SLURM_ARRAY_TASK_COUNT": "6",
            },
            (3, 6),
        ),
        # Kubernetes Indexed Job: 0-based index; the count from REPLICA_COUNT
        ({"JOB_COMPLETION_INDEX": "0", "REPLICA_COUNT": "3"}, (1, 3)),
        ({"JOB_COMPLETION_INDEX": "2", "REPLICA_COUNT": "3"}, (3, 3)),
        # AWS Batch array job: 0-based index and the array size
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "0", "AWS_BATCH_JOB_ARRAY_SIZE": "2"}, (1, 2)),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "1", "AWS_BATCH_JOB_ARRAY_SIZE": "2"}, (2, 2)),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "1", "REPLICA_COUNT": "5"}, (2, 5)),
        # Google Cloud Batch: 0-based task index and the task count
        ({"BATCH_TASK_INDEX": "0", "BATCH_TASK_COUNT": "1"}, (1, 1)),
        ({"BATCH_TASK_INDEX": "5", "BATCH_TASK_COUNT": "6"}, (6, 6)),
    ],
)
def test_each_engine_gives_the_replica_position(monkeypatch, env, position):
    _set(monkeypatch, env)
    replica, count = position
    assert distributed.position() == position
    assert list(distributed.chunk(FILES)) == list(distributed.chunk(FILES, replica, count))
    assert list(distributed.stripe(FILES)) == FILES[replica - 1 :: count]


def test_every_task_of_a_slurm_array_gets_its_own_share(monkeypatch):
    _set(monkeypatch, {"SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "5"})
    shares = []
    for task in range(1, 6):
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", str(task))
        shares.append(list(distributed.chunk(FILES)))
    assert [f for share in shares for f in share] == FILES
    assert [len(share) for share in shares] == [3, 3, 2, 2, 2]


def test_every_index_of_a_kubernetes_job_with_a_count_argument_gets_its_own_share(monkeypatch):
    shares = []
    for index in range(4):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        shares.append(list(distributed.stripe(FILES, count=4)))
    assert sorted(f for share in shares for f in share) == FILES
    assert shares[3] == [FILES[3], FILES[7], FILES[11]]


def test_replica_id_wins_over_every_engine(monkeypatch):
    _set(
        monkeypatch,
        {
            "REPLICA_ID": "2",
            "REPLICA_COUNT": "2",
            "SLURM_ARRAY_TASK_ID": "0",
            "SLURM_ARRAY_TASK_MIN": "0",
            "SLURM_ARRAY_TASK_MAX": "9",
            "BATCH_TASK_INDEX": "0",
            "BATCH_TASK_COUNT": "3",
        },
    )
    assert distributed.position() == (2, 2)


def test_the_engines_are_asked_in_a_fixed_order(monkeypatch):
    _set(monkeypatch, {"BATCH_TASK_INDEX": "1", "BATCH_TASK_COUNT": "3"})
    _set(monkeypatch, {"JOB_COMPLETION_INDEX": "0", "REPLICA_COUNT": "7"})
    assert distributed.position() == (1, 7)  # Kubernetes before Google Batch


def test_a_plugin_installed_by_the_user_answers_before_the_built_in_engines(
    monkeypatch, canfar_plugin
):
    from canfar_core import hookimpl

    class Pbs:
        @hookimpl
        def canfar_replica_position(self, environ):
            if "PBS_ARRAY_INDEX" in environ:
                return int(environ["PBS_ARRAY_INDEX"]), 8
            return None

    canfar_plugin(Pbs())
    _set(monkeypatch, {"PBS_ARRAY_INDEX": "5", "BATCH_TASK_INDEX": "0", "BATCH_TASK_COUNT": "2"})
    assert distributed.position() == (5, 8)
    monkeypatch.delenv("PBS_ARRAY_INDEX")
    assert distributed.position() == (1, 2)


def test_the_built_in_engines_ignore_an_environment_that_is_not_theirs():
    environ = {"SLURM_JOB_ID": "123", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOME": "/home/x"}
    assert engines.canfar_replica_position(environ) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_MIN": "0"},
            "SLURM_ARRAY_TASK_ID='x' is not a whole number",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "a", "SLURM_ARRAY_TASK_MAX": "4"},
            "SLURM_ARRAY_TASK_MIN='a' is not a whole number",
        ),
        ({"SLURM_ARRAY_TASK_ID": "3"}, "SLURM_ARRAY_TASK_ID=3 is set without SLURM_ARRAY_TASK_MIN"),
        (
            {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"},
            "SLURM_ARRAY_TASK_ID=3 and SLURM_ARRAY_TASK_COUNT=4 are set without "
            "SLURM_ARRAY_TASK_MIN (or SLURM_ARRAY_TASK_MAX), so",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MAX": "4"},
            "SLURM_ARRAY_TASK_ID=3 and SLURM_ARRAY_TASK_MAX=4 are set without "
            "SLURM_ARRAY_TASK_MIN (or SLURM_ARRAY_TASK_COUNT), so",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"},
            "SLURM_ARRAY_TASK_ID=9 is not in the job array 0-3",
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "3",
                "SLURM_ARRAY_TASK_MIN": "0",
                "SLURM_ARRAY_TASK_MAX": "8",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            "SLURM_ARRAY_TASK_ID=3 is not in the job array 0-8:2",
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "2",
                "SLURM_ARRAY_TASK_MIN": "1",
                "SLURM_ARRAY_TASK_MAX": "31",
                "SLURM_ARRAY_TASK_COUNT": "5",
            },
            "SLURM_ARRAY_TASK_ID=2 is in a job array that is not an evenly spaced range",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "1"},
            "SLURM_ARRAY_TASK_MAX=1 is below SLURM_ARRAY_TASK_MIN=4",
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "2",
                "SLURM_ARRAY_TASK_MIN": "0",
                "SLURM_ARRAY_TASK_MAX": "4",
                "SLURM_ARRAY_TASK_STEP": "0",
            },
            "SLURM_ARRAY_TASK_STEP=0 is not a valid step",
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "2",
                "SLURM_ARRAY_TASK_MIN": "0",
                "SLURM_ARRAY_TASK_COUNT": "0",
            },
            "SLURM_ARRAY_TASK_COUNT=0 is not a valid task count",
        ),
        (
            {"JOB_COMPLETION_INDEX": "one", "REPLICA_COUNT": "2"},
            "JOB_COMPLETION_INDEX='one' is not a whole number",
        ),
        (
            {"JOB_COMPLETION_INDEX": "-1", "REPLICA_COUNT": "2"},
            "JOB_COMPLETION_INDEX=-1 is not a valid task index: it is 0-based",
        ),
        (
            {"JOB_COMPLETION_INDEX": "2"},
            "JOB_COMPLETION_INDEX=2 (replica 3) is set but the replica count is "
            "unknown: set REPLICA_COUNT or pass count=",
        ),
        (
            {"JOB_COMPLETION_INDEX": "2", "REPLICA_COUNT": "2"},
            "JOB_COMPLETION_INDEX=2 (replica 3) is out of range: with REPLICA_COUNT=2",
        ),
        (
            {"AWS_BATCH_JOB_ARRAY_INDEX": "4", "AWS_BATCH_JOB_ARRAY_SIZE": "4"},
            "AWS_BATCH_JOB_ARRAY_INDEX=4 is out of range: with AWS_BATCH_JOB_ARRAY_SIZE=4, task "
            "indices run 0 to 3",
        ),
        (
            {"AWS_BATCH_JOB_ARRAY_INDEX": "0", "AWS_BATCH_JOB_ARRAY_SIZE": "0"},
            "AWS_BATCH_JOB_ARRAY_SIZE=0 is not a valid task count",
        ),
        (
            {"BATCH_TASK_INDEX": "1.5", "BATCH_TASK_COUNT": "4"},
            "BATCH_TASK_INDEX='1.5' is not a whole number",
        ),
        (
            {"BATCH_TASK_INDEX": "0", "BATCH_TASK_COUNT": "many"},
            "BATCH_TASK_COUNT='many' is not a whole number",
        ),
        (
            {"BATCH_TASK_INDEX": "7", "BATCH_TASK_COUNT": "4"},
            "BATCH_TASK_INDEX=7 is out of range: with BATCH_TASK_COUNT=4",
        ),
    ],
)
def test_a_malformed_engine_variable_is_a_value_error_naming_it(monkeypatch, env, message):
    _set(monkeypatch, env)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        distributed.chunk(FILES)
