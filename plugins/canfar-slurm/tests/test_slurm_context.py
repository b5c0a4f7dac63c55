"""Choosing Slurm as where sessions run: a context with no server and no credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("canfar_home")

CANFAR = str(Path(sys.executable).with_name("canfar"))


def canfar(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANFAR_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [CANFAR, *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


@pytest.mark.usefixtures("slurm_cluster")
def test_login_with_the_slurm_backend_makes_it_active_and_stores_no_secret(
    canfar_home: Path,
) -> None:
    done = canfar("auth", "login", "--backend", "slurm")
    assert done.returncode == 0, done.stderr
    assert "Context 'slurm' is active" in done.stderr
    contexts = json.loads(canfar("auth", "list", "--json").stdout)
    active = [c for c in contexts if c["active"]]
    assert [(c["name"], c["backend"], c["auth"]) for c in active] == [("slurm", "slurm", "")]
    credentials = canfar_home / "config" / "canfar" / "credentials.json"
    assert not credentials.exists() or json.loads(credentials.read_text()).get("slurm") in (
        None,
        {},
    )
    status = json.loads(canfar("auth", "status", "--json").stdout)
    assert status["valid"] is True
    assert status["backend"] == "slurm"
    assert status["user"]
    assert canfar("ps").returncode == 0  # the slurm backend, with no --backend


def test_login_refuses_when_slurm_is_not_installed(canfar_home: Path) -> None:
    done = canfar("auth", "login", "--backend", "slurm", path=os.path.dirname(sys.executable))
    assert done.returncode == 1
    assert "login failed, nothing was saved" in done.stderr
    assert "sbatch command is not installed" in done.stderr
    assert (
        not (canfar_home / "config" / "canfar" / "config.json").exists()
        or "slurm" not in (canfar_home / "config" / "canfar" / "config.json").read_text()
    )


def test_login_with_an_unknown_backend_names_the_known_ones() -> None:
    done = canfar("auth", "login", "--backend", "nosuch")
    assert done.returncode != 0
    assert "nosuch" in done.stderr
    assert "slurm" in done.stderr
    assert "Traceback" not in done.stderr


def test_login_with_a_backend_takes_no_credentials() -> None:
    done = canfar("auth", "login", "--backend", "slurm", "--token-stdin")
    assert done.returncode == 2
    assert "takes no server or credentials" in done.stderr


def _stand_ins(folder: Path, ping: str, code: int) -> str:
    """A PATH holding Python and stand-ins of sbatch and scontrol (ping answers ``ping``)."""
    folder.mkdir()
    recorded = Path(__file__).parent / "recorded" / ping
    for name, body in (
        ("sbatch", "sys.exit(1)"),
        ("scontrol", f"sys.stdout.write(open({str(recorded)!r}).read()); sys.exit({code})"),
    ):
        path = folder / name
        path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
        path.chmod(0o755)
    return f"{folder}{os.pathsep}{os.path.dirname(sys.executable)}"


def test_login_refuses_when_the_controller_does_not_answer(
    canfar_home: Path, tmp_path: Path
) -> None:
    path = _stand_ins(tmp_path / "down", "scontrol-ping-down.txt", 1)
    done = canfar("auth", "login", "--backend", "slurm", path=path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Error: login failed, nothing was saved: the Slurm controller does not answer "
        "(scontrol ping: ctl is DOWN); sessions cannot run on Slurm from here until it does"
    )
    up = _stand_ins(tmp_path / "up", "scontrol-ping-up.txt", 0)
    assert canfar("auth", "login", "--backend", "slurm", path=up).returncode == 0
    status = canfar("auth", "status", path=path)
    assert status.returncode == 1
    assert "the Slurm controller does not answer (scontrol ping: ctl is DOWN)" in status.stdout
    assert "not valid" in status.stdout
