"""``canfar plugins install`` and ``uninstall``, run for real: pip installs a plugin package
into the environment canfar runs from (a throwaway venv), offline, and removes it again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from canfar_core.cli import main

from .beside import make_venv_beside

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LIST = "import sys; from canfar_core.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv_beside(tmp_path_factory.mktemp("beside") / "venv")


def canfar_in(python: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANFAR_", "PIP_"))}
    env.update(variables)
    return subprocess.run(
        [str(python), "-c", LIST, *args], capture_output=True, text=True, env=env, timeout=600
    )


def plugins_in(python: Path) -> dict[str, dict[str, object]]:
    done = canfar_in(python, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    return {item["name"]: item for item in json.loads(done.stdout)}


@pytest.mark.slow
def test_install_puts_the_plugin_beside_canfar_and_uninstall_takes_it_away(venv, tmp_path):
    source = shutil.copytree(FIXTURES / "canfar-hello", tmp_path / "canfar-hello")
    assert "hello" not in plugins_in(venv)

    done = canfar_in(venv, "plugins", "install", "--no-index", "--no-build-isolation", str(source))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Added plugin 'hello' 1.2.3: canfar_register_commands, canfar_register_strategies\n"
    )
    assert plugins_in(venv)["hello"]["status"] == "loaded"
    assert canfar_in(venv, "hello").stdout == "hello from canfar-hello\n"

    done = canfar_in(venv, "plugins", "uninstall", "hello")  # the plugin's name
    assert (done.returncode, done.stdout) == (0, "Removed canfar-hello ('hello').\n"), done.stderr
    assert "hello" not in plugins_in(venv)


@pytest.mark.slow
def test_a_requirements_file_and_the_pip_name_work_too(venv, tmp_path):
    source = shutil.copytree(FIXTURES / "canfar-hello", tmp_path / "canfar-hello")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# the site's plugins\n{source}\n", encoding="utf-8")
    done = canfar_in(
        venv, "plugins", "install", "--no-index", "--no-build-isolation", "-r", str(requirements)
    )
    assert done.returncode == 0, done.stderr
    assert "Added plugin 'hello' 1.2.3" in done.stdout
    done = canfar_in(venv, "plugins", "uninstall", "canfar-hello")  # the pip name
    assert done.returncode == 0, done.stderr
    assert "hello" not in plugins_in(venv)


@pytest.mark.slow
def test_a_package_that_cannot_be_found_is_one_error_line(venv, tmp_path):
    done = canfar_in(venv, "plugins", "install", "--no-index", "canfar-not-on-any-index")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: pip could not install: ERROR: ")
    assert "Traceback" not in done.stderr


def test_a_builtin_cannot_be_uninstalled(canfar_home, capsys):
    assert main(["plugins", "uninstall", "local"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "Error: 'local' is built into canfar and cannot be uninstalled; "
        "switch it off with: CANFAR_DISABLE_PLUGINS=local\n"
    )
    assert main(["plugins", "uninstall", "canfar"]) == 2


def test_uninstalling_what_is_not_installed_is_one_error_line(canfar_home, capsys):
    assert main(["plugins", "uninstall", "canfar-nothing-like-this"]) == 1
    assert "no plugin or package named 'canfar-nothing-like-this'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_an_empty_name_is_one_error_line(canfar_home, capsys, command):
    assert main(["plugins", command, ""]) == 2
    assert capsys.readouterr().err.startswith("Error: a ")


def test_a_name_no_distribution_can_have_is_not_found(canfar_home, capsys):
    assert main(["plugins", "uninstall", "/"]) == 1
    assert "no plugin or package named '/'" in capsys.readouterr().err


def test_install_needs_something_to_install(canfar_home, capsys):
    assert main(["plugins", "install"]) == 2
    assert "name at least one PACKAGE" in capsys.readouterr().err


def test_under_pipx_the_packages_are_injected_into_canfars_pipx_environment(tmp_path, monkeypatch):
    from canfar_plugins.plugin_commands import installer as module

    prefix = tmp_path / "pipx" / "venvs" / "canfar"
    prefix.mkdir(parents=True)
    (prefix / "pipx_metadata.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(module.sys, "prefix", str(prefix))
    monkeypatch.setattr(module.shutil, "which", lambda name: f"/bin/{name}")
    chosen = module.plugin_installer(("--no-index", "--find-links", "/my wheels"))
    assert chosen.name == "pipx"
    assert chosen.argv("./x", upgrade=True) == [
        "/bin/pipx",
        "inject",
        "--pip-args=--no-index --find-links '/my wheels' --upgrade",
        "canfar",
        "./x",
    ]
    assert chosen.argv("./y", editable=True)[:3] == ["/bin/pipx", "inject", "--editable"]
    assert chosen.uninstall_argv("canfar-x") == ["/bin/pipx", "uninject", "canfar", "canfar-x"]


def test_elsewhere_the_pip_of_canfars_own_python_installs(tmp_path, monkeypatch):
    from canfar_plugins.plugin_commands import installer as module

    monkeypatch.setattr(module.sys, "prefix", str(tmp_path))
    chosen = module.plugin_installer()
    assert chosen.name == "pip"
    assert chosen.argv("a", "b")[:3] == [module.sys.executable, "-m", "pip"]
    assert chosen.argv("./a", "./b", editable=True)[-4:] == ["-e", "./a", "-e", "./b"]
