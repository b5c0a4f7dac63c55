"""Command lines built for Slurm, and Slurm's recorded output read back (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from canfar_slurm import commands, script, settings
from canfar_slurm.ids import parse_id
from canfar_slurm.states import status_of

from canfar_core.errors import ValidationError

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def options(**changes) -> commands.JobOptions:
    fields = dict(name="fit", array="1-4", log_pattern="/logs/%A_%a.out", workdir="/data")
    fields.update(changes)
    return commands.JobOptions(**fields)


def test_sbatch_gets_one_array_and_no_resource_options_unless_asked() -> None:
    assert commands.sbatch_argv(options()) == [
        "sbatch",
        "--parsable",
        "--array=1-4",
        "--job-name=fit",
        "--output=/logs/%A_%a.out",
        "--chdir=/data",
        "--ntasks=1",
    ]


def test_resources_and_site_choices_map_to_sbatch_options() -> None:
    argv = commands.sbatch_argv(
        options(
            cpus=commands.cpus_for(2.5),
            mem_mb=commands.mem_mb_for(1.5),
            gpus=2,
            time="1-12:00:00",
            partition="gpu",
            account="rrg-astro",
            qos="normal",
        )
    )
    assert argv[7:] == [
        "--cpus-per-task=3",
        "--mem=1536M",
        "--gres=gpu:2",
        "--time=1-12:00:00",
        "--partition=gpu",
        "--account=rrg-astro",
        "--qos=normal",
    ]


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [([1, 2, 3, 4], "1-4"), ([7], "7"), ([2, 5, 7, 8, 9], "2,5,7-9"), ([3, 1, 2, 3], "1-3")],
)
def test_array_spec_names_exactly_the_replicas(replicas: list[int], expected: str) -> None:
    assert commands.array_spec(replicas) == expected


@pytest.mark.parametrize(
    "good", ["30", "10:00", "2:00:00", "1-0", "1-12:30", "3-00:00:00", "UNLIMITED"]
)
def test_time_limits_slurm_accepts(good: str) -> None:
    assert commands.check_time(good) == good


@pytest.mark.parametrize("bad", ["", "1h", "--wrap=x", "1:2:3:4", "-5"])
def test_time_limits_refused_before_any_command(bad: str) -> None:
    with pytest.raises(ValidationError, match="time limit"):
        commands.check_time(bad)


@pytest.mark.parametrize("bad", ["no pe", "--account=x", "a;b", "a,,b", ""])
def test_partition_names_refused_before_any_command(bad: str) -> None:
    with pytest.raises(ValidationError, match="partition"):
        commands.check_name("partition", bad)


def test_settings_take_the_request_first_then_context_then_user() -> None:
    chosen = settings.resolve(
        {"partition": "gpu"},
        {"partition": "cpu", "account": "ctx-account"},
        {"account": "user-account", "time": "30", "container": "none"},
    )
    assert chosen == settings.Settings(
        partition="gpu", account="ctx-account", time="30", container="none"
    )


def test_the_user_settings_are_the_config_file_overridden_by_variables(
    canfar_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canfar_core.cli import main

    assert main(["config", "set", "plugins.slurm.partition", "cpu"]) == 0
    assert main(["config", "set", "plugins.slurm.account", "rrg-file"]) == 0
    monkeypatch.setenv("CANFAR_SLURM_PARTITION", "gpu")
    monkeypatch.setenv("CANFAR_SLURM_LOG_DIR", "/scratch/logs")
    chosen = settings.resolve({}, {}, settings.user_settings())
    assert (chosen.partition, chosen.account, chosen.log_dir) == (
        "gpu",
        "rrg-file",
        "/scratch/logs",
    )


def test_unknown_container_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="container 'docker'"):
        settings.resolve({"container": "docker"})


@pytest.mark.parametrize(
    ("text", "job", "task"), [("1234_5", "1234", 5), ("7_0", "7", 0), (" 42_1 ", "42", 1)]
)
def test_task_ids(text: str, job: str, task: int) -> None:
    ref = parse_id(text)
    assert (ref.job, ref.task) == (job, task)


@pytest.mark.parametrize("bad", ["1234", "1234_", "_5", "12_3_4", "-1_2", "1_2;rm", "1_[1-3]", ""])
def test_bad_task_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="not a Slurm session id"):
        parse_id(bad)


def test_a_whole_array_only_where_allowed() -> None:
    assert parse_id("1234", whole_array=True).task is None
    with pytest.raises(ValidationError):
        parse_id("1234")


def test_recorded_squeue_states_in_the_platforms_words() -> None:
    tasks = commands.parse_squeue(recorded("squeue-mixed.txt"))
    statuses = {task: status_of(state.state) for task, state in tasks.items()}
    assert statuses == {
        "24_1": "Completed",
        "24_2": "Failed",
        "25_1": "Running",
        "25_2": "Running",
        "25_3": "Failed",  # cancelled while pending, by someone other than canfar's delete
        "26_1": "Pending",
        "26_2": "Pending",
    }
    assert tasks["24_2"].reason == "NonZeroExitCode"
    assert tasks["26_1"].reason == "Resources"
    assert tasks["26_1"].start is None
    assert tasks["26_1"].nodes is None
    assert tasks["25_1"].start == "2026-11-29T20:20:15"
    assert tasks["25_1"].end is None
    assert tasks["25_1"].reason is None
    assert tasks["25_1"].nodes == "vm"


def test_recorded_squeue_after_scancel() -> None:
    tasks = commands.parse_squeue(recorded("squeue-cancelled.txt"))
    assert {status_of(t.state) for t in tasks.values()} == {"Failed"}
    assert {t.state for t in tasks.values()} == {"CANCELLED"}


def test_a_pending_range_not_yet_split_is_skipped() -> None:
    line = "26_[1-2]|PENDING|2026-11-29T20:20:13|N/A|N/A||debug|Resources\n"
    assert commands.parse_squeue(line) == {}


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("CANCELLED by 1000", "Failed"),
        ("CANCELLED+", "Failed"),
        ("OUT_OF_MEMORY", "Failed"),
        ("TIMEOUT", "Failed"),
        ("NODE_FAIL", "Failed"),
        ("COMPLETING", "Running"),
        ("REQUEUED", "Pending"),
        ("SUSPENDED", "Pending"),
        ("SOMETHING_NEW", "Pending"),
    ],
)
def test_other_slurm_states(state: str, status: str) -> None:
    assert status_of(state) == status


def test_recorded_sbatch_job_id() -> None:
    assert commands.parse_sbatch(recorded("sbatch-parsable.txt")) == "31"
    assert commands.parse_sbatch("1234;cluster2\n") == "1234"
    with pytest.raises(ValueError, match="no job id"):
        commands.parse_sbatch("Submitted batch job 12\n")


def test_batch_script_quotes_every_word_and_records_the_exit_code(tmp_path: Path) -> None:
    text = script.batch_script(
        command=["python", "-c", "print('a b'); import os"],
        env={"SURVEY": "it's $HOME"},
        replicas=4,
        placement=script.Placement(script.HOST),
        exit_dir="/logs dir",
    )
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    assert "SURVEY='it'\"'\"'s $HOME'; export SURVEY" in lines
    assert "REPLICA_COUNT=4; export REPLICA_COUNT" in lines
    assert "python -c 'print('\"'\"'a b'\"'\"'); import os'" in lines
    assert any(line.startswith("printf") and "'/logs dir/'" in line for line in lines)


def test_apptainer_runs_the_image_when_asked() -> None:
    text = script.batch_script(
        command=["python", "fit.py"],
        env={},
        replicas=1,
        placement=script.Placement("apptainer", "docker://python:3.12"),
        exit_dir="/logs",
        gpus=1,
    )
    assert "apptainer exec --nv docker://python:3.12 python fit.py" in text.splitlines()


def test_recorded_sacct_states_and_exit_codes() -> None:
    tasks = commands.parse_sacct(recorded("sacct-mixed.txt"))
    found = {task: (status_of(s.state), s.exit_code) for task, s in tasks.items()}
    assert found == {
        "221_1": ("Completed", 0),
        "221_2": ("Failed", 1),
        "221_3": ("Failed", 2),
        "222_1": ("Running", 0),
        "222_2": ("Failed", 0),
    }
    assert tasks["222_2"].state == "CANCELLED by 0"
    assert tasks["222_1"].end is None
    assert tasks["221_3"].nodes == "vm"


def test_sacct_steps_are_not_sessions() -> None:
    tasks = commands.parse_sacct(recorded("sacct-with-steps.txt"))
    assert sorted(tasks) == ["221_1", "221_2", "221_3"]


@pytest.fixture
def no_containers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


def test_without_apptainer_the_host_environment_is_used(no_containers: Path) -> None:
    placement = script.place("docker://python:3.12", "auto", str(no_containers))
    assert placement.runtime == script.HOST
    assert placement.describe() == "the host environment of the cluster's nodes"


def test_an_explicit_container_that_is_missing_is_refused(no_containers: Path) -> None:
    with pytest.raises(ValidationError, match="apptainer is not installed"):
        script.place("docker://python:3.12", "apptainer", str(no_containers))


def test_apptainer_is_chosen_for_a_sif_file_when_installed(no_containers: Path) -> None:
    fake = no_containers / "apptainer"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    (no_containers / "astro.sif").write_bytes(b"")
    placement = script.place("astro.sif", "auto", str(no_containers))
    assert placement == script.Placement("apptainer", str(no_containers / "astro.sif"))
    assert script.place("skaha/astroml:latest", "auto", str(no_containers)).runtime == script.HOST
    with pytest.raises(ValidationError, match="does not exist"):
        script.place("missing.sif", "auto", str(no_containers))


def test_every_launch_is_marked_with_its_token() -> None:
    argv = commands.sbatch_argv(options(comment="canfar:0123abcd"))
    assert argv[-1] == "--comment=canfar:0123abcd"


def test_recorded_comments_find_the_job_of_a_launch() -> None:
    found = commands.parse_comments(recorded("squeue-comments.txt"))
    assert list(found) == ["canfar:5f0c1e2d3b4a59687766554433221100"]
    assert found["canfar:5f0c1e2d3b4a59687766554433221100"].isdigit()


def test_a_recorded_comments_answer_is_readable_and_a_garbled_one_is_not() -> None:
    assert commands.comments_readable(recorded("squeue-comments.txt"))
    assert commands.comments_readable("")
    assert not commands.comments_readable("369|canfar:x\nslurm_load_jobs error: Unexpected\n")
