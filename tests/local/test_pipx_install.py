"""canfar installed with pipx: a local job runs the user's own ``python`` (their packages
import), and ``from canfar.helpers import distributed`` works there too. The install is made
offline, from this checkout, with the wheels of the test environment's own packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from canfar_plugins._support.installer import installer
from tests.offline import checkout_copy, offline_wheels

PIPX = Path(sys.executable).with_name("pipx")
JOB = """\
import json, os
import canfar_test_marker
from canfar.helpers import distributed

files = [f"image-{n:04d}.fits" for n in range(10)]
share = list(distributed.chunk(files))
print(json.dumps({"replica": os.environ["REPLICA_ID"], "marker": canfar_test_marker.NAME,
                  "share": share, "python": os.path.realpath(os.sys.executable)}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not PIPX.exists(), reason="pipx is not installed (the dev extra installs it)")
def test_a_pipx_install_runs_the_guides_chunk_snippet_with_the_users_python(tmp_path):
    wheels = offline_wheels(tmp_path / "wheels")
    bindir = tmp_path / "pipx-bin"
    home = tmp_path / "home"
    home.mkdir()
    base = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "LANG": "C.UTF-8",
    }
    install_env = {
        **base,
        "PATH": os.environ["PATH"],
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(bindir),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    source = checkout_copy(tmp_path / "checkout")
    done = subprocess.run(
        [str(PIPX), "install", str(source)],
        env=install_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The user's own environment, first on PATH, with a package canfar's has not.
    user = tmp_path / "user-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(user)], check=True)
    [site] = user.glob("lib/python*/site-packages")
    (site / "canfar_test_marker.py").write_text('NAME = "marker"\n')
    (tmp_path / "job.py").write_text(JOB)
    run_env = {**base, "PATH": f"{user / 'bin'}{os.pathsep}{bindir}{os.pathsep}/usr/bin:/bin"}

    def canfar(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bindir / "canfar"), *args],
            env=run_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    launched = canfar(
        "create", "headless", "img", "--replicas", "3", "--wait", "--", "python", "job.py"
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr
    outputs = []
    for session_id in canfar("ps", "-a", "-q").stdout.split():
        logs = canfar("logs", session_id)
        assert logs.returncode == 0, logs.stderr
        outputs.append(json.loads(logs.stdout.strip().splitlines()[-1]))
    assert sorted(o["replica"] for o in outputs) == ["1", "2", "3"]
    assert {o["marker"] for o in outputs} == {"marker"}
    assert {o["python"] for o in outputs} == {os.path.realpath(user / "bin" / "python")}
    shares = [item for o in sorted(outputs, key=lambda o: o["replica"]) for item in o["share"]]
    assert shares == [f"image-{n:04d}.fits" for n in range(10)]  # complete and disjoint

    # No python on PATH at all: the job's failure says so.
    run_env["PATH"] = f"{bindir}{os.pathsep}{tmp_path / 'empty'}"
    (tmp_path / "empty").mkdir()
    os.symlink(shutil.which("mv") or "/bin/mv", tmp_path / "empty" / "mv")
    missing = canfar("create", "headless", "img", "--wait", "--", "python", "job.py")
    assert missing.returncode != 0
    session_id = canfar("ps", "-a", "-q").stdout.split()[-1]
    reason = canfar("info", session_id).stdout
    assert "exit code 127: 'python' is not on PATH (canfar is installed with pipx" in reason


def test_a_missing_command_says_it_is_not_on_path(session):
    from tests.local.conftest import wait_final

    [session_id] = session.create(image="img/x:1", cmd="no-such-command-here")
    info = wait_final(session, [session_id])[session_id]
    assert info.exit_code == 127
    assert "'no-such-command-here' is not on PATH" in session.logs(session_id)[session_id]
    reason = info.extra["reason"]
    assert reason.startswith("exit code 127: 'no-such-command-here' is not on PATH")


def test_the_installer_is_pipx_only_in_an_environment_pipx_made(tmp_path):
    assert installer(str(tmp_path)).name == "pip"
    assert installer(str(tmp_path)).command("jupyterlab>=4,<5") == (
        f"{sys.executable} -m pip install 'jupyterlab>=4,<5'"
    )
    (tmp_path / "pipx_metadata.json").write_text("{}")
    assert installer(str(tmp_path)).command("jupyterlab") == "pipx inject canfar jupyterlab"
