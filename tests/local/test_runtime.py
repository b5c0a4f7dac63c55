"""Container runtimes: usable only when a real probe says so, and driven without leaking secrets.

The runtimes here are small stand-in executables put first on ``PATH``: real processes that
answer the probe like a working (or broken) client and, for ``run``, record what they were
given and run the command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from canfar_core.config import config_file
from canfar_core.errors import Unsupported, ValidationError
from canfar_plugins.local import runtime
from tests.failures import reasons_of
from tests.local.conftest import wait_final

FAKE_CLIENT = """#!{python}
import json, os, sys
args = sys.argv[1:]
record = os.environ["FAKE_RUNTIME_RECORD"]
if args[0] in ("info", "--version"):
    if os.environ.get("FAKE_RUNTIME_BROKEN"):
        sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                         "Is the docker daemon running?\\n")
        sys.exit(1)
    print("27.0.1")
    sys.exit(0)
with open(record, "a") as out:
    out.write(json.dumps({{"argv": args, "env": {{k: os.environ.get(k) for k in
              ("REPLICA_ID", "REPLICA_COUNT", "SECRET", "skaha_sessionid")}}}}) + "\\n")
if args[0] == "run":
    image = next(i for i, a in enumerate(args) if a.startswith("images.canfar.net/"))
    os.execvp(args[image + 1], args[image + 1:])
"""


@pytest.fixture(autouse=True)
def fresh_probes():
    runtime._cache.clear()
    yield
    runtime._cache.clear()


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A folder first on PATH holding only the stand-in runtimes a test installs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    record = tmp_path / "runtime-calls.jsonl"
    record.touch()
    monkeypatch.setenv("FAKE_RUNTIME_RECORD", str(record))
    # Keep the basic tools reachable, but no real container runtime.
    keep = [os.path.dirname(shutil.which(tool)) for tool in ("sh", "sleep", "true")]
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), *dict.fromkeys(keep)]))
    for name in runtime.CONTAINER_RUNTIMES:
        if shutil.which(name) and Path(shutil.which(name)).parent != folder:
            pytest.skip(f"a real {name} is on the basic PATH")

    def install(name: str) -> Path:
        path = folder / name
        path.write_text(FAKE_CLIENT.format(python=sys.executable))
        path.chmod(0o755)
        return record

    return install


def calls(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_a_runtime_that_is_not_installed_is_not_usable(fake_bin):
    found = runtime.probe("podman")
    assert not found.usable
    assert "'podman' is not installed" in found.detail


def test_a_docker_client_without_an_engine_is_not_usable(session, fake_bin, monkeypatch):
    fake_bin("docker")
    monkeypatch.setenv("FAKE_RUNTIME_BROKEN", "1")
    found = runtime.probe("docker")
    assert not found.usable
    assert "Cannot connect to the Docker daemon" in found.detail
    with pytest.raises(Unsupported, match="docker runtime is not usable on this machine"):
        session.create(image="img/x:1", cmd="true", runtime="docker")
    assert session.fetch() == []


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client here")
def test_the_real_docker_verdict_matches_whether_its_engine_answers(fresh_probes):
    answered = subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0
    assert runtime.probe("docker").usable is answered


def test_auto_falls_back_to_the_host_and_says_so(session, fake_bin, monkeypatch, capsys):
    fake_bin("docker")
    monkeypatch.setenv("FAKE_RUNTIME_BROKEN", "1")
    [session_id] = session.create(image="img/x:1", cmd="true", runtime="auto")
    assert session.info(session_id, errors="raise")[0].extra["runtime"] == "host"
    assert "no container runtime" in capsys.readouterr().err


def test_an_unknown_runtime_is_refused_with_the_known_ones(session):
    with pytest.raises(ValidationError, match=r"unknown runtime 'vm' .*apptainer, podman, docker"):
        session.create(image="img/x:1", cmd="true", runtime="vm")


def test_the_runtime_setting_is_the_default(session, fake_bin, monkeypatch):
    fake_bin("docker")
    monkeypatch.setenv("FAKE_RUNTIME_BROKEN", "1")
    config_file().write({"plugins": {"local": {"runtime": "docker"}}})
    with pytest.raises(Unsupported, match="docker"):
        session.create(image="img/x:1", cmd="true")


def test_docker_runs_the_image_with_env_passed_by_name_only(session, fake_bin, workdir, capsys):
    record = fake_bin("docker")
    ids = session.create(
        image="skaha/astroml:latest",
        cmd="sh",
        args=["-c", "echo $REPLICA_ID $SECRET"],
        env={"SECRET": "s3cr3t-value"},
        replicas=2,
        cores=1,
        ram=0.5,
        runtime="docker",
    )
    infos = wait_final(session, ids)
    assert {info.status for info in infos.values()} == {"Completed"}
    assert [session.logs(i, errors="raise")[i] for i in ids] == [
        "1 s3cr3t-value\n",
        "2 s3cr3t-value\n",
    ]
    assert "Warning" not in capsys.readouterr().err
    runs = [c for c in calls(record) if c["argv"][0] == "run"]
    assert len(runs) == 2
    [argv] = [c["argv"] for c in runs if f"canfar-{ids[0]}" in c["argv"]]
    assert "s3cr3t-value" not in " ".join(argv)  # values travel in the environment
    assert argv[argv.index("--name") + 1] == f"canfar-{ids[0]}"
    assert argv[argv.index("--workdir") + 1] == str(workdir)
    assert f"{workdir}:{workdir}" in argv
    assert argv[argv.index("--cpus") + 1] == "1"
    assert argv[argv.index("--memory") + 1] == "512m"
    assert "images.canfar.net/skaha/astroml:latest" in argv
    for name in ("SECRET", "REPLICA_ID", "REPLICA_COUNT", "skaha_sessionid"):
        assert argv[argv.index(name) - 1] == "--env"
    info = infos[ids[0]]
    assert (info.image, info.extra["runtime"]) == ("skaha/astroml:latest", "docker")
    assert info.extra["image_reference"] == "images.canfar.net/skaha/astroml:latest"


def test_deleting_a_docker_session_also_removes_its_container(session, fake_bin):
    record = fake_bin("docker")
    [session_id] = session.create(image="img/x:1", cmd="sleep", args=["300"], runtime="docker")
    assert reasons_of(session.destroy, session_id) == {session_id: None}
    assert {"rm", "--force", f"canfar-{session_id}"} <= set(calls(record)[-1]["argv"])


def test_apptainer_runs_a_docker_reference_in_the_working_directory(fake_bin, workdir):
    launch = runtime.container_command(
        "apptainer",
        session_id="abcdefgh",
        image="skaha/astroml:latest",
        command=["python", "echo.py"],
        workdir=str(workdir),
        env_names=["REPLICA_ID"],
        cores=None,
        ram=None,
        gpus=1,
    )
    assert launch.argv == [
        "apptainer", "exec", "--bind", str(workdir), "--pwd", str(workdir), "--nv",
        "docker://images.canfar.net/skaha/astroml:latest", "python", "echo.py",
    ]  # fmt: skip
    assert launch.container is None


@pytest.mark.parametrize(
    ("given", "pulled"),
    [
        ("skaha/astroml:latest", "images.canfar.net/skaha/astroml:latest"),
        ("images.canfar.net/skaha/astroml:1.0", "images.canfar.net/skaha/astroml:1.0"),
        ("ghcr.io/me/tool:2", "ghcr.io/me/tool:2"),
        ("localhost/mine:dev", "localhost/mine:dev"),
        ("registry:5000/a/b", "registry:5000/a/b"),
        ("ubuntu:24.04", "ubuntu:24.04"),
    ],
)
def test_image_references_without_a_registry_mean_canfars(given, pulled):
    assert runtime.image_reference(given) == pulled


def test_python_is_told_once_per_process_with_the_argument_to_use(session, fake_bin, capsys):
    session.create(image="img/x:1", cmd="true")
    session.create(image="img/x:1", cmd="true")
    err = capsys.readouterr().err
    assert err.count("no container runtime") == 1
    assert "the argument runtime='apptainer' or 'podman' or 'docker'" in err
    assert "--runtime" not in err
