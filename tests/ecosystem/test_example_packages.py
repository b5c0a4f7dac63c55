"""The two example distributions, installed with pip, as a user meets them: listed by
``canfar plugins``, removed by ``CANFAR_DISABLE_PLUGINS``, and obeyed by the CLI and the Python API.

Most of these run the installed ``canfar`` command in a subprocess: that is the only way to prove
that an entry point works once a package is installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from canfar.sessions import AsyncSession, Session
from canfar_core.errors import PolicyError

EXAMPLES = {
    # entry-point name: (distribution, hooks)
    "balanced": ("canfar-balanced", ["canfar_register_strategies"]),
    "institute-example": (
        "canfar-institute-example",
        [
            "canfar_discover_servers",
            "canfar_prepare_session",
            "canfar_register_commands",
            "canfar_session_launched",
        ],
    ),
}
CAP_MESSAGE = "cores 64 is over the Example Institute limit of 16 cores per session"


def canfar(
    *args: str, disable: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``canfar`` command with this test's config and state folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANFAR_")}
    if disable is not None:
        env["CANFAR_DISABLE_PLUGINS"] = disable
    command = Path(sys.executable).with_name("canfar")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("folder", "package"),
    [
        ("canfar-balanced", "canfar_balanced"),
        ("canfar-institute-example", "canfar_institute_example"),
    ],
)
def test_each_example_is_installed_from_this_checkout(folder: str, package: str) -> None:
    """CI installs every plugins/canfar-*/ in editable mode: the code tested is the code here."""
    import importlib

    source = ROOT / "plugins" / folder
    assert (source / "pyproject.toml").is_file()
    assert (source / "README.md").is_file()
    assert list((source / "tests").glob("test_*.py"))
    module = importlib.import_module(package)
    assert Path(module.__file__ or "").resolve().is_relative_to(source / "src")
    assert version(folder) == module.__version__


def test_canfar_plugins_lists_the_installed_examples(canfar_home: Path) -> None:
    done = canfar("plugins", "--json")
    assert done.returncode == 0, done.stderr
    listed = {entry["name"]: entry for entry in json.loads(done.stdout)}
    for name, (distribution, hooks) in EXAMPLES.items():
        assert listed[name] == {
            "name": name,
            "version": version(distribution),
            "hooks": hooks,
            "builtin": False,
            "status": "loaded",
            "reason": None,
        }
    assert done.stderr == ""  # nothing failed to load


def test_built_ins_are_registered_first_so_installed_plugins_are_asked_first(
    canfar_home: Path,
) -> None:
    listed = json.loads(canfar("plugins", "--json").stdout)
    builtin = [entry["builtin"] for entry in listed]
    assert builtin == sorted(builtin, reverse=True)
    assert {entry["name"] for entry in listed if not entry["builtin"]} >= set(EXAMPLES)


@pytest.mark.parametrize(
    "disable", ["balanced,institute-example", "canfar-balanced, canfar_institute_example"]
)
def test_disable_plugins_removes_them_by_entry_point_or_distribution_name(
    canfar_home: Path, disable: str
) -> None:
    listed = json.loads(canfar("plugins", "--json", disable=disable).stdout)
    names = {entry["name"] for entry in listed if entry["status"] == "loaded"}
    assert not names & set(EXAMPLES)
    assert {"strategies", "local", "sessions"} <= names  # the built-ins stay
    disabled = {entry["name"] for entry in listed if entry["status"] == "disabled"}
    assert disabled >= set(EXAMPLES)

    helped = canfar("--help", disable=disable)
    assert helped.returncode == 0
    assert "  site " not in helped.stdout
    assert "  site " in canfar("--help").stdout


def test_a_disabled_institute_no_longer_refuses(canfar_home: Path) -> None:
    done = canfar(
        "create", "headless", "img", "--cores", "64", "--", "true", disable="institute-example"
    )
    # What happens now is the backend's business (the local one may lack 64 cores); the site
    # has no say and logs nothing.
    assert "Example Institute" not in done.stderr
    assert not (canfar_home / "state" / "canfar" / "institute-launches.log").exists()


def test_the_cap_refuses_an_oversize_request_from_the_cli(canfar_home: Path) -> None:
    done = canfar("create", "headless", "img", "--cores", "64", "--", "true")
    assert done.returncode == 1
    assert f"Error: {CAP_MESSAGE}; ask help@example.org if you need more" in done.stderr
    assert "Traceback" not in done.stderr
    assert Session(backend="local").fetch() == []  # nothing was launched


def test_the_cap_refuses_an_oversize_request_from_the_python_api(canfar_home: Path) -> None:
    session = Session()  # nobody logged in: the local backend
    assert session.context.backend == "local"
    with pytest.raises(PolicyError, match=CAP_MESSAGE):
        session.create(image="img", kind="headless", cmd="true", cores=64)
    with pytest.raises(PolicyError, match="limit of 64 GB"):
        session.create(image="img", kind="headless", cmd="true", ram=65)
    assert session.fetch() == []


def test_the_cap_refuses_from_the_async_api(canfar_home: Path) -> None:
    async def launch() -> list[str]:
        async with AsyncSession() as session:
            return await session.create(image="img", kind="headless", cmd="true", cores=64)

    with pytest.raises(PolicyError, match=CAP_MESSAGE):
        asyncio.run(launch())


def test_a_cli_launch_carries_the_site_variables_and_is_logged(canfar_home: Path) -> None:
    code = "import os; print(os.environ['SITE_NAME'])"
    done = canfar(
        "create",
        "headless",
        "img",
        "--name",
        "clijob",
        "--cores",
        "1",
        "--",
        sys.executable,
        "-c",
        code,
    )
    assert done.returncode == 0, done.stderr
    log = canfar_home / "state" / "canfar" / "institute-launches.log"
    (entry,) = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    assert (entry["name"], entry["backend"], entry["cores"]) == ("clijob", "local", 1)
    (session_id,) = entry["ids"]
    session = Session(backend="local")
    session.wait([session_id], status="Completed", timeout=30, poll=0.05)
    assert session.logs(session_id, errors="raise")[session_id] == "example-institute\n"


def test_site_command_from_the_installed_entry_point(canfar_home: Path) -> None:
    done = canfar("site", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["limits"] == {"cores": 16, "ram_gb": 64}
