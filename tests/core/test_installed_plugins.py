"""Third-party plugins installed with pip, seen through the real ``canfar`` console script.

The packages under ``tests/fixtures`` are installed with ``pip install --target`` into a
throwaway folder (no network: ``--no-index --no-deps --no-build-isolation``), which the
``canfar`` processes see through ``PYTHONPATH``, as they would see a plugin installed beside
canfar.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from canfar_core import __version__

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLUGINS = ("canfar-hello", "canfar-broken", "canfar-project-option")


def canfar_script() -> str:
    script = Path(sysconfig.get_path("scripts")) / "canfar"
    found = str(script) if script.exists() else shutil.which("canfar")
    if not found:
        pytest.fail("the canfar console script is not installed (pip install -e .)")
    return found


def installed_version(name: str) -> tuple[int, ...] | None:
    """The version of an installed distribution, read from its metadata (nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version(name)
    except PackageNotFoundError:
        return None
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def can_build_wheels() -> bool:
    """pip, and a setuptools that builds wheels on its own (70.1+) or with ``wheel``."""
    setuptools = installed_version("setuptools")
    if installed_version("pip") is None or setuptools is None:
        return False
    return setuptools >= (70, 1) or installed_version("wheel") is not None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the two fixture plugins, installed by pip from their sources."""
    if not can_build_wheels():
        reason = "installing the fixture plugins needs pip and setuptools>=70.1 in this venv"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("plugins")
    sources = [shutil.copytree(FIXTURES / name, work / "src" / name) for name in PLUGINS]
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
        + ["--no-build-isolation", "--disable-pip-version-check", "--target", str(target)]
        + [str(source) for source in sources],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def env_with(site: Path | None, **variables: str) -> dict[str, str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env.update(variables)
    return env


def canfar(
    *args: str, site: Path | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [canfar_script(), *args],
        env=env_with(site, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_installed_plugin_is_listed_with_its_version_and_hooks(site):
    result = canfar("plugins", "--json", site=site)
    assert result.returncode == 0
    hello = {item["name"]: item for item in json.loads(result.stdout)}["hello"]
    assert hello == {
        "name": "hello",
        "version": "1.2.3",
        "hooks": ["canfar_register_commands", "canfar_register_strategies"],
        "builtin": False,
        "status": "loaded",
        "reason": None,
    }


def test_its_command_is_in_help_and_runs_and_its_strategy_is_registered(site):
    help_text = canfar("--help", site=site)
    assert help_text.returncode == 0
    listed = {
        line.split(maxsplit=1)[0]: line.split(maxsplit=1)[-1]
        for line in help_text.stdout.partition("Commands:")[2].splitlines()
        if line.strip()
    }
    assert listed["hello"] == "Say hello from a third-party plugin."
    assert canfar("hello", site=site).stdout == "hello from canfar-hello\n"
    strategies = canfar("hello", "--strategies", site=site).stdout.split()
    assert "first" in strategies


def test_the_broken_plugin_is_one_warning_line_and_the_cli_works(site):
    result = canfar("--help", site=site)
    assert result.returncode == 0
    assert "Commands:" in result.stdout
    assert result.stderr.splitlines() == [
        "canfar: warning: plugin 'broken' was not loaded: "
        "ImportError: canfar_broken needs the module 'not_installed_anywhere'"
    ]
    version = canfar("version", "--json", site=site)
    assert version.returncode == 0
    plugins = json.loads(version.stdout)["plugins"]
    assert plugins["hello"] == "1.2.3"
    assert "broken" not in plugins


@pytest.mark.parametrize("name", ["broken", "canfar-broken", "canfar_broken"])
def test_disabling_the_broken_plugin_silences_it(site, name):
    result = canfar("hello", site=site, CANFAR_DISABLE_PLUGINS=name)
    assert (result.returncode, result.stderr) == (0, "")


def test_disabling_the_good_plugin_removes_its_command(site):
    result = canfar("hello", site=site, CANFAR_DISABLE_PLUGINS="hello,broken")
    assert result.returncode == 2
    assert "No such command 'hello'" in result.stderr
    listed = json.loads(
        canfar("plugins", "--json", site=site, CANFAR_DISABLE_PLUGINS="hello").stdout
    )
    assert "hello" not in {item["name"] for item in listed if item["status"] == "loaded"}
    hello = next(item for item in listed if item["name"] == "hello")
    assert (hello["status"], hello["reason"]) == ("disabled", "listed in CANFAR_DISABLE_PLUGINS")
    assert hello["hooks"] == []


def test_ctrl_c_exits_130_without_a_traceback(site):
    process = subprocess.Popen(
        [canfar_script(), "hello", "--wait"],
        env=env_with(site, CANFAR_DISABLE_PLUGINS="broken"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert process.stderr.readline() == "waiting\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.strip() == "Interrupted."
    assert out == "hello from canfar-hello\n"


def test_a_reader_that_goes_away_is_not_an_error(site):
    # canfar ... | head -1
    process = subprocess.Popen(
        [canfar_script(), "hello", "--lines", "200000"],
        env=env_with(site, CANFAR_DISABLE_PLUGINS="broken"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"hello from canfar-hello\n"
    process.stdout.close()
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    process.kill()
    assert err == ""
    assert process.returncode in (0, 1)


# -- the console script on its own --------------------------------------------------------


def test_console_script_version():
    result = canfar("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"canfar {__version__}\n", "")


def test_console_script_config_round_trip_and_corrupt_file(canfar_home):
    assert canfar("config", "set", "defaults.image", "skaha/astroml:latest").returncode == 0
    assert canfar("config", "get", "defaults.image").stdout == "skaha/astroml:latest\n"
    path = canfar_home / "config" / "canfar" / "config.json"
    path.write_bytes(b"{oops")
    result = canfar("config", "set", "defaults.image", "x/y:z")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {path} is not valid JSON")
    assert path.read_bytes() == b"{oops"


def test_console_script_usage_error_exits_2():
    result = canfar("definitely-not-a-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_an_installed_plugins_create_option_reaches_its_hook_and_the_backend(site, tmp_path):
    helped = canfar("create", "--help", site=site)
    assert "Options of plugin project-option:" in helped.stdout
    assert "--project PROJECT  The allocation to charge." in helped.stdout
    log = tmp_path / "launches.jsonl"
    command = ("create", "headless", "img", "--backend", "recorded", "--project", "rrg-7")
    done = canfar(*command, "--", "true", site=site, RECORDED_LAUNCHES=str(log))
    assert done.returncode == 0, done.stderr
    (launch,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert launch["options"] == {"project": "rrg-7"}
    assert launch["env"]["PROJECT_AT_PREPARE"] == "rrg-7"
