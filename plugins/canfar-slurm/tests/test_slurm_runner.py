"""Errors from Slurm's commands as the user reads them, with recorded output replayed by real
executables on PATH (no cluster needed)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from canfar_slurm import runner

from canfar_core.errors import ConnectionFailed

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a command that prints a recorded file on stderr and exits with a code on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))

    def install(command: str, recording: str, code: int) -> None:
        path = folder / command
        path.write_text(
            f"#!{sys.executable}\nimport sys\n"
            f"sys.stderr.write(open({str(RECORDED / recording)!r}).read())\nsys.exit({code})\n"
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    return install


def test_a_missing_command_names_it_and_says_where_to_run(fake_bin) -> None:
    with pytest.raises(runner.SlurmMissing) as caught:
        runner.run(["sbatch", "--parsable"])
    assert "sbatch command is not installed" in str(caught.value)
    assert "login node" in str(caught.value)


def test_a_controller_that_does_not_answer(fake_bin) -> None:
    fake_bin("squeue", "squeue-controller-down.txt", 1)
    with pytest.raises(ConnectionFailed, match=r"controller does not answer: .*Unable to contact"):
        runner.run(["squeue"])


def test_sbatch_refusal_is_shown_as_slurm_said_it(fake_bin) -> None:
    fake_bin("sbatch", "sbatch-bad-partition.txt", 1)
    with pytest.raises(runner.SlurmCommandFailed) as caught:
        runner.run(["sbatch"])
    assert caught.value.output == (
        "invalid partition specified: nope; "
        "Batch job submission failed: Invalid partition name specified"
    )


def test_canfar_secrets_are_not_passed_to_jobs() -> None:
    env = runner.submit_environment({"CANFAR_TOKEN": "s3cret", "PATH": "/bin", "HOME": "/h"})
    assert env == {"PATH": "/bin", "HOME": "/h"}
    assert os.environ is not env


def test_the_controller_state_is_read_from_scontrol_ping(fake_bin) -> None:
    fake_bin("scontrol", "scontrol-ping-up.txt", 0)
    assert runner.controller_state() == "ctl is UP"


def test_a_controller_that_is_down_is_one_line(fake_bin) -> None:
    fake_bin("scontrol", "scontrol-ping-down.txt", 1)
    with pytest.raises(ConnectionFailed) as caught:
        runner.controller_state()
    assert str(caught.value) == (
        "the Slurm controller does not answer (scontrol ping: ctl is DOWN); "
        "sessions cannot run on Slurm from here until it does"
    )


def test_no_slurm_configuration_is_one_line_not_the_resolver_log(fake_bin) -> None:
    fake_bin("scontrol", "scontrol-no-config.txt", 1)
    with pytest.raises(ConnectionFailed) as caught:
        runner.controller_state()
    message = str(caught.value)
    assert "\n" not in message
    assert "no Slurm configuration found on this machine" in message
    assert "res_nsearch" not in message
    fake_bin("sbatch", "scontrol-no-config.txt", 1)
    with pytest.raises(ConnectionFailed) as submitted:
        runner.run(["sbatch", "--parsable"])
    assert "res_nsearch" not in str(submitted.value)
    assert "no Slurm configuration found" in str(submitted.value)
