"""canfar create: parsing the user's command, output formats, launch failures, --wait."""

from __future__ import annotations

import json

import pytest

IMAGE = "images.example.org/skaha/astroml:latest"


def test_command_after_double_dash_is_never_read_as_options(world, run):
    result = run("create", "headless", IMAGE, "--", "python", "-c", "4")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert (spec.cmd, spec.args, spec.cores) == ("python", ["-c", "4"], None)


def test_command_without_double_dash_still_belongs_to_the_user(world, run):
    result = run("create", "headless", IMAGE, "python", "-c", "4", "--replicas", "9", "--", "x")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert spec.cmd == "python"
    assert spec.args == ["-c", "4", "--replicas", "9", "--", "x"]
    assert (spec.cores, spec.replicas) == (None, 1)


def test_options_before_kind_and_between_image_and_command(world, run):
    result = run(
        "create",
        "--cores",
        "2",
        "-n",
        "job",
        "headless",
        IMAGE,
        "-r",
        "3",
        "--ram=8",
        "-e",
        "A=1",
        "python",
        "fit.py",
    )
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert (spec.cores, spec.ram, spec.replicas, spec.name) == (2.0, 8.0, 3, "job")
    assert spec.env["A"] == "1"
    assert (spec.cmd, spec.args) == ("python", ["fit.py"])


def test_option_values_that_look_like_words_are_not_the_command(world, run):
    result = run("create", "headless", IMAGE, "--name", "python", "-r2", "-q", "echo", "hi")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert (spec.name, spec.replicas, spec.cmd, spec.args) == ("python", 2, "echo", ["hi"])


def test_args_keep_their_quoting_as_separate_words(world, run):
    result = run("create", "headless", IMAGE, "--", "python", "-c", 'print("a  b")', "two words")
    assert result.code == 0
    assert world.specs[0].args == ["-c", 'print("a  b")', "two words"]


def test_env_values_keep_equals_signs_and_runtime_is_passed_on(world, run):
    result = run("create", "headless", IMAGE, "-e", "Q=a=b", "--runtime", "process", "--", "env")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert spec.env["Q"] == "a=b"
    assert spec.options == {"runtime": "process"}


def test_default_output_is_a_table_of_ids_and_names(world, run):
    result = run("create", "headless", IMAGE, "-n", "fit", "-r", "2", "--", "true")
    ids = list(world.sessions)
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME"]
    assert [line.split() for line in lines[2:]] == [[ids[0], "fit-1"], [ids[1], "fit-2"]]
    assert "Launched 2 headless sessions on memory" in result.err
    assert f"Next: canfar ps, canfar logs -f {ids[0]}" in result.err


def test_an_interactive_session_is_followed_by_opening_it(world, run):
    result = run("create", "notebook", IMAGE)
    (session_id,) = world.sessions
    assert f"canfar open {session_id}" in result.err
    assert "canfar" not in result.out


def test_quiet_prints_only_ids(world, run):
    result = run("create", "-q", "headless", IMAGE, "-r", "3", "--", "true")
    assert result.out.splitlines() == list(world.sessions)
    assert "Launched" not in result.err


def test_json_output_is_the_list_of_new_ids(world, run):
    result = run("create", "--json", "headless", IMAGE, "-n", "j", "-r", "2", "--", "true")
    assert result.code == 0, result.err
    assert json.loads(result.out) == list(world.sessions)
    assert run("create", "-o", "json", "headless", IMAGE, "--", "true").out.startswith("[")


def test_json_and_quiet_together_are_a_usage_error(world, run):
    result = run("create", "--json", "-q", "headless", IMAGE, "--", "true")
    assert result.code == 2
    assert world.specs == []


def test_partial_launch_prints_launched_ids_and_each_failure_and_exits_1(world, run):
    world.fail = lambda spec, replica: "quota exceeded" if replica == 2 else None
    result = run("create", "-q", "headless", IMAGE, "-n", "p", "-r", "3", "--", "true")
    assert result.code == 1
    assert result.out.splitlines() == list(world.sessions)
    assert "replica 2 (p-2) failed: quota exceeded" in result.err
    assert "1 of 3 replicas failed" in result.err
    assert "Launched" not in result.err + result.out


def test_partial_launch_in_json_lists_the_launched_ids_and_names_each_failure(world, run):
    world.fail = lambda spec, replica: "boom" if replica == 1 else None
    result = run("create", "--json", "headless", IMAGE, "-n", "p", "-r", "2", "--", "true")
    assert result.code == 1
    assert json.loads(result.out) == list(world.sessions)
    assert "replica 1 (p-1) failed: boom" in result.err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["-r", "0"], "0"),
        (["-r", "300"], "300"),
        (["-r", "many"], "many"),
        (["--cores", "-1"], "-1"),
        (["--ram", "lots"], "lots"),
        (["-e", "NOVALUE"], "NOVALUE"),
        (["-e", "1X=2"], "1X"),
        (["-n", "bad_name"], "bad_name"),
    ],
)
def test_bad_values_exit_2_naming_the_value_and_send_nothing(world, run, argv, needle):
    result = run("create", *argv, "headless", IMAGE, "--", "true")
    assert result.code == 2, result
    assert needle in result.err
    assert "Traceback" not in result.err
    assert world.specs == []


def test_unknown_kind_and_bad_image_are_named(world, run):
    result = run("create", "spaceship", IMAGE, "--", "true")
    assert (result.code, "spaceship" in result.err) == (2, True)
    result = run("create", "headless", "-bad", "--", "true")
    assert result.code == 2
    assert world.specs == []


def test_a_policy_refusal_is_one_line_and_exit_1(world, run, canfar_plugin):
    from canfar_core import hookimpl
    from canfar_core.errors import PolicyError

    class Policy:
        @hookimpl
        def canfar_prepare_session(self, spec):
            raise PolicyError("this site allows at most 8 cores per session")

    canfar_plugin(Policy(), name="policy")
    result = run("create", "headless", IMAGE, "-c", "16", "--", "true")
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("Error")]
    assert errors == ["Error: this site allows at most 8 cores per session"]


def test_wait_reports_progress_then_the_final_states(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Pending", "Running"]
    result = run(
        "create", "--until", "running", "headless", IMAGE, "-n", "w", "-r", "2", "--", "true"
    )
    assert result.code == 0, result.err
    assert "Waiting: 2 Pending" in result.err
    assert "Waiting: 2 Running" in result.err
    rows = [line.split() for line in result.out.splitlines()[2:]]
    assert [row[1:] for row in rows] == [["w-1", "Running"], ["w-2", "Running"]]


def test_wait_on_a_batch_job_waits_until_it_has_completed(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Running", "Running", "Completed"]
    result = run("create", "--wait", "headless", IMAGE, "-n", "b", "-r", "2", "--", "true")
    assert result.code == 0, result.err
    assert "Waiting: 2 Running" in result.err
    rows = [line.split() for line in result.out.splitlines()[2:]]
    assert [row[1:] for row in rows] == [["b-1", "Completed"], ["b-2", "Completed"]]


def test_wait_on_a_batch_job_that_fails_once_running_exits_1(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Running", "Failed"]
    world.exit_code = 2
    result = run("create", "--wait", "-q", "headless", IMAGE, "-n", "x", "--", "false")
    assert result.code == 1
    sid = next(iter(world.sessions))
    assert f"Error: {sid} (x) failed: exit code 2" in result.err


def test_wait_on_a_notebook_stops_at_running(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Running"]
    result = run("create", "--wait", "notebook", IMAGE, "-n", "nb")
    assert result.code == 0, result.err
    assert result.out.splitlines()[2].split()[1:] == ["nb", "Running"]


def test_until_names_a_status_one_can_wait_for(world, run):
    result = run("create", "--until", "Pending", "headless", IMAGE, "--", "true")
    assert result.code == 2
    assert "cannot be waited for" in result.err
    assert not world.sessions


def test_wait_names_failed_sessions_with_why_and_exits_1(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending", "Failed"]
    world.exit_code = 3
    world.events["m0000001"] = (
        "TYPE  REASON\nWarning  BackoffLimitExceeded  Job has reached the limit\n"
    )
    result = run("create", "--wait", "--json", "headless", IMAGE, "-n", "f", "--", "false")
    assert result.code == 1
    sid = next(iter(world.sessions))
    assert sid == "m0000001"
    assert f"{sid} (f) failed: exit code 3; Warning  BackoffLimitExceeded" in result.err
    assert json.loads(result.out) == [sid]


def test_wait_timeout_names_what_is_still_pending(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending"]
    result = run("create", "--wait", "--timeout", "0", "-q", "headless", IMAGE, "--", "true")
    assert result.code == 1
    sid = next(iter(world.sessions))
    assert result.out.split() == [sid]  # the ids are not lost
    assert sid in result.err
    assert "still not" in result.err


def test_ctrl_c_during_wait_says_what_still_runs_and_exits_130(world, run, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    world.lifecycle = ["Pending"]
    calls = []

    def interrupt_on_second_poll(session_id: str) -> None:
        calls.append(session_id)
        if len(calls) > 2:
            raise KeyboardInterrupt

    world.on_info = interrupt_on_second_poll
    result = run("create", "--wait", "headless", IMAGE, "-r", "2", "--", "true")
    assert result.code == 130
    ids = list(world.sessions)
    assert "2 of 2 sessions are still pending or running" in result.err
    assert f"canfar delete {ids[0]} {ids[1]}" in result.err


def test_help_shows_the_command_form(world, run):
    result = run("create", "--help")
    assert result.code == 0
    assert "[KIND] [IMAGE] [--] [CMD [ARGS]...]" in result.out


def test_config_defaults_stand_in_for_kind_image_and_resources(world, run):
    for key, value in [
        ("defaults.image", IMAGE),
        ("defaults.cores", "2"),
        ("defaults.ram", "8"),
        ("defaults.gpus", "1"),
    ]:
        assert run("config", "set", key, value).code == 0
    result = run("create", "headless", "--", "python", "fit.py")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert (spec.kind, spec.image, spec.cmd, spec.args) == ("headless", IMAGE, "python", ["fit.py"])
    assert (spec.cores, spec.ram, spec.gpus) == (2.0, 8.0, 1)


def test_config_default_kind_and_image_need_no_positionals(world, run):
    assert run("config", "set", "defaults.kind", "notebook").code == 0
    assert run("config", "set", "defaults.image", IMAGE).code == 0
    result = run("create", "--name", "nb")
    assert result.code == 0, result.err
    (spec,) = world.specs
    assert (spec.kind, spec.image, spec.name) == ("notebook", IMAGE, "nb")


@pytest.fixture
def builtin_plugins_only(canfar_home, monkeypatch):
    """No installed site plugin fills in its own default image."""
    from canfar_core.manager import reset_manager
    from tests.faults.harness import third_party_plugins

    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", ",".join(third_party_plugins()))
    reset_manager()
    yield
    reset_manager()


def test_no_image_and_no_default_says_how_to_set_one(builtin_plugins_only, world, run):
    result = run("create", "headless", "--", "true")
    assert result.code == 2
    assert "canfar config set defaults.image" in result.err
    assert not world.specs


def test_config_default_backend_applies_to_the_cli_and_python(world, run, monkeypatch):
    from canfar.sessions import Session

    monkeypatch.delenv("CANFAR_BACKEND")
    assert run("config", "set", "defaults.backend", "memory").code == 0
    result = run("create", "-q", "headless", IMAGE, "--", "true")
    assert result.code == 0, result.err
    assert result.out.split() == list(world.sessions)
    assert Session().fetch() != []
