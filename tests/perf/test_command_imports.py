"""No command imports what it does not use.

Each of the commands below runs in a fresh interpreter under ``-X importtime`` with empty config
and state folders; the modules it ended with are compared with what it needs. An HTTP stack, a
database, an event loop or a table printer imported by a command that does not use it costs
every user tens of milliseconds on every call. Speed itself is measured by
``benchmarks/compare.py``, not here: module lists do not depend on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

#: Modules no command below may import unless it is listed as using it, and why it matters.
HEAVY = {
    "requests": "an HTTP client (requests, urllib3, ssl, ...)",
    "urllib3": "an HTTP client",
    "http.client": "an HTTP client",
    "ssl": "TLS, which loads the system's certificates",
    "tabulate": "a table printer",
    "sqlite3": "a database (the local backend's state)",
    "asyncio": "an event loop (the async API)",
    "importlib.metadata": "about 25 ms of imports (email, zipfile, csv, ...) to find plugins",
    "fsspec": "the storage interface, for canfar data only",
}

#: Each command and the heavy modules it does use.
COMMANDS = {
    "--help": set(),
    "version": set(),
    # It prints a table. (tabulate 0.10 would also import importlib.metadata, to learn its own
    # version: that is why pyproject.toml keeps tabulate below 0.10.)
    "plugins": {"tabulate"},
    "config path": set(),
    # Its subcommands are listed without loading them (or fsspec).
    "data --help": set(),
}

#: Runs the ``canfar`` console script's function (named by CONSOLE_SCRIPT, ``module:function``)
#: with the given arguments, then writes the names in ``sys.modules`` to the file named by
#: IMPORTS_REPORT. ``sys.modules`` is the full truth: ``-X importtime`` misses modules loaded
#: through ``importlib.import_module`` (entry points are), so its output is used only to say
#: which import brought a module in.
DRIVER = """
import atexit, importlib, os, sys

def _report():
    with open(os.environ["IMPORTS_REPORT"], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(_report)
sys.argv = ["canfar", *sys.argv[1:]]
module, _, function = os.environ["CONSOLE_SCRIPT"].partition(":")
getattr(importlib.import_module(module), function)()
"""


def console_script() -> str:
    """What the installed ``canfar`` command runs, as ``module:function``."""
    (script,) = [
        ep.value
        for ep in metadata.distribution("canfar").entry_points
        if ep.group == "console_scripts" and ep.name == "canfar"
    ]
    return script


def run_command(args: list[str], report: Path) -> tuple[set[str], str]:
    """Run ``canfar ARGS`` under ``-X importtime``: the modules it imported, and its stderr."""
    env = dict(os.environ, IMPORTS_REPORT=str(report), CONSOLE_SCRIPT=console_script())
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", DRIVER, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, f"canfar {' '.join(args)} failed:\n{result.stderr[-2000:]}"
    return set(report.read_text().split("\n")), result.stderr


def import_chain(importtime: str, module: str) -> str:
    """``module <- importer <- ...`` from ``-X importtime`` output (best effort)."""
    rows = []
    for line in importtime.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            field = line.rsplit("|", 1)[1]
            rows.append((len(field) - len(field.lstrip()), field.strip()))
    # A module is printed after the modules it imports, one level of indent less deep.
    for index, (depth, name) in enumerate(rows):
        if name == module:
            chain = [name]
            for later_depth, later_name in rows[index + 1 :]:
                if later_depth < depth:
                    chain.append(later_name)
                    depth = later_depth
            return " <- ".join(chain)
    return f"{module} (imported through importlib.import_module)"


def heavy_imports(modules: set[str], allowed: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in modules and name not in allowed)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_imports_only_what_it_uses(canfar_home, tmp_path, command):
    modules, stderr = run_command(command.split(), tmp_path / "modules.txt")
    # The listing is real: the command ran, with click and the built-in plugins loaded.
    assert {"click", "canfar_core.cli", "canfar_plugins.session_commands"} <= modules
    found = heavy_imports(modules, COMMANDS[command])
    assert not found, "\n".join(
        f"canfar {command} imports {name} ({HEAVY[name]}): {import_chain(stderr, name)}"
        for name in found
    )


def test_the_table_printer_is_imported_when_a_table_is_printed(canfar_home, tmp_path):
    # `canfar plugins` prints a table: the allowance above is used, and the listing sees
    # a module a plugin imports lazily, inside a function.
    modules, _ = run_command(["plugins"], tmp_path / "modules.txt")
    assert "tabulate" in modules


def test_a_heavy_import_is_caught_and_traced_to_its_importer(tmp_path):
    # The check fails where it should: a program importing sqlite3 through a module of its own.
    (tmp_path / "uses_db.py").write_text("import sqlite3\n")
    report = tmp_path / "modules.txt"
    program = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: open(os.environ['IMPORTS_REPORT'], 'w')"
        ".write('\\n'.join(sys.modules)))\n"
        "import uses_db\n"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", program],
        capture_output=True,
        text=True,
        env=dict(os.environ, IMPORTS_REPORT=str(report), PYTHONPATH=str(tmp_path)),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    modules = set(report.read_text().split("\n"))
    assert heavy_imports(modules, set()) == ["sqlite3"]
    assert import_chain(result.stderr, "sqlite3").startswith("sqlite3 <- ")
    assert "uses_db" in import_chain(result.stderr, "sqlite3")
