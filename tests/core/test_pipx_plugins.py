"""``canfar plugins install ./path`` under a canfar installed with pipx: the plugin goes into
canfar's pipx environment (``pipx inject``), ``canfar plugins`` lists it, and ``uninstall``
takes it out (``pipx uninject``). Offline: pipx's home is a fresh folder, and canfar and its
dependencies come from wheels packed from this venv."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

from tests.offline import checkout_copy

from .wheelhouse import repack, wheelhouse

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
PIPX = [sys.executable, "-m", "pipx"]

pytestmark = pytest.mark.slow


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def pipx_canfar(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """canfar installed by pipx into an isolated PIPX_HOME: its console script, and the
    environment to run it in (pipx on PATH)."""
    if importlib.util.find_spec("pipx") is None:
        pytest.skip("pipx is not installed in this venv (pip install -e '.[test]')")
    from importlib.metadata import version

    if tuple(int(part) for part in version("pipx").split(".")[:2]) < (1, 18):
        pytest.skip("needs pipx 1.18 or newer (Python 3.11 and newer)")
    work = tmp_path_factory.mktemp("pipx")
    wheels = wheelhouse(work / "wheels", "canfar")
    repack(distribution("setuptools"), wheels)  # to build plugins from source, offline
    built = run(
        [*PIP_WHEEL, "--no-build-isolation", "-w", str(wheels), str(checkout_copy(work / "src"))],
        dict(os.environ),
    )
    assert built.returncode == 0, built.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANFAR_", "PIP_", "PIPX_"))}
    env.update(
        PIPX_HOME=str(work / "home"),
        PIPX_BIN_DIR=str(work / "bin"),
        PIPX_MAN_DIR=str(work / "man"),
        PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE="1",  # it would fetch pip from the network
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    (wheel,) = wheels.glob("canfar-*.whl")
    installed = run(
        [*PIPX, "install", f"--pip-args=--no-index --find-links {wheels}", str(wheel)],
        env,
    )
    if installed.returncode != 0:
        pytest.skip(f"pipx cannot install offline here: {installed.stderr.strip()[-200:]}")
    env["WHEELS"] = str(wheels)
    return work / "bin" / "canfar", env


def injected(env: dict[str, str]) -> list[str]:
    metadata = Path(env["PIPX_HOME"]) / "venvs" / "canfar" / "pipx_metadata.json"
    return sorted(json.loads(metadata.read_text(encoding="utf-8"))["injected_packages"])


def test_install_injects_the_plugin_into_canfars_pipx_environment(pipx_canfar, tmp_path):
    canfar, env = pipx_canfar
    source = shutil.copytree(FIXTURES / "canfar-hello", tmp_path / "canfar-hello")

    offline = ["--no-index", "-f", env["WHEELS"]]
    done = run([str(canfar), "plugins", "install", *offline, str(source)], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Added plugin 'hello' 1.2.3: canfar_register_commands, canfar_register_strategies\n"
    )
    assert injected(env) == ["canfar-hello"]  # pipx knows it: kept on `pipx upgrade canfar`
    listed = {p["name"]: p for p in json.loads(run([str(canfar), "plugins", "--json"], env).stdout)}
    assert (listed["hello"]["version"], listed["hello"]["status"]) == ("1.2.3", "loaded")
    assert run([str(canfar), "hello"], env).stdout == "hello from canfar-hello\n"

    done = run([str(canfar), "plugins", "uninstall", "hello"], env)
    assert (done.returncode, done.stdout) == (0, "Removed canfar-hello ('hello').\n"), done.stderr
    assert injected(env) == []
    listed = {p["name"] for p in json.loads(run([str(canfar), "plugins", "--json"], env).stdout)}
    assert "hello" not in listed
