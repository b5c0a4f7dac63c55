"""The start-up budget: what ``canfar --help`` imports.

Every command pays for what start-up imports, so ``canfar --help`` (which imports every plugin
module to list its commands) must not import an HTTP stack, a database, an event loop, a table
printer, or the heavy modules of a built-in plugin. Timings are printed by
``benchmarks/compare.py --only startup``; this test lists modules, which do not depend on the
machine.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution

import pytest

#: Modules start-up must not import, and why a user would notice.
FORBIDDEN = {
    "requests": "an HTTP client: about 100 ms",
    "urllib3": "an HTTP client",
    "http.client": "an HTTP client",
    "ssl": "TLS: loads the system's certificates",
    "tabulate": "a table printer, needed only by commands that print tables",
    "sqlite3": "a database, needed only by the local backend",
    "asyncio": "an event loop, needed only by the async API",
}

#: Runs ``canfar --help`` in process, then writes the names of the modules it imported to the
#: file named by its argument. ``sys.modules`` is read rather than ``-X importtime``, which does
#: not see modules imported through ``importlib.import_module`` (as entry points are).
PROGRAM = """
import sys
from canfar_core.cli import main
code = main(["--help"])
names = sorted(sys.modules)
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(names))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The modules a fresh interpreter holds after ``canfar --help``."""
    listing = tmp_path_factory.mktemp("startup") / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(listing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Commands:" in result.stdout
    return listing.read_text().split("\n")


def entry_point_modules() -> set[str]:
    return {
        ep.value.split(":")[0] for ep in distribution("canfar").entry_points if ep.group == "canfar"
    }


#: Shared helpers a command needs where it is declared (the ``-o`` option decorator): light.
DECLARING = {"canfar_plugins._support", "canfar_plugins._support.machine"}


def allowed_plugin_module(name: str, entry_points: set[str]) -> bool:
    """A built-in plugin's entry-point module, a package above one, a small ``commands``
    module (or package, with its modules) that lists a plugin's commands, or what declaring
    a command needs (:data:`DECLARING`)."""
    if name in entry_points or any(ep.startswith(name + ".") for ep in entry_points):
        return True
    if name in DECLARING:
        return True
    return any(part == "commands" or part.endswith("_commands") for part in name.split(".")[1:])


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_help_does_not_import(modules, module):
    assert module not in modules, f"canfar --help imports {module}: {FORBIDDEN[module]}"


def test_help_imports_no_heavy_module_of_a_builtin_plugin(modules):
    entry_points = entry_point_modules()
    heavy = [
        name
        for name in modules
        if name.split(".")[0] == "canfar_plugins" and not allowed_plugin_module(name, entry_points)
    ]
    assert heavy == [], "imported at start-up; import them inside the functions that need them"


def test_help_does_load_every_builtin_plugin(modules):
    # Otherwise the two tests above would pass by loading nothing.
    assert entry_point_modules() <= set(modules)


#: Finds this replica's position from the environment it is given, then writes the names of the
#: modules it imported to the file named by its argument.
POSITION_PROGRAM = """
import sys
from canfar.helpers import distributed
print(*distributed.position())
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
"""

#: Each engine's variables for replica 3 of 4.
ENGINE_VARIABLES = {
    "canfar": {"REPLICA_ID": "3", "REPLICA_COUNT": "4"},
    "slurm": {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4"},
    "kubernetes": {"JOB_COMPLETION_INDEX": "2", "REPLICA_COUNT": "4"},
    "aws-batch": {"AWS_BATCH_JOB_ARRAY_INDEX": "2", "AWS_BATCH_JOB_ARRAY_SIZE": "4"},
    "google-batch": {"BATCH_TASK_INDEX": "2", "BATCH_TASK_COUNT": "4"},
}


@pytest.mark.parametrize("engine", sorted(ENGINE_VARIABLES))
def test_a_replica_finds_its_position_without_click_or_unneeded_plugins(tmp_path, engine):
    """docs/architecture.md: a batch replica pays neither click nor requests nor any plugin it
    does not need, under every built-in engine."""
    import os

    listing = tmp_path / "modules.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("REPLICA_ID", "REPLICA_COUNT")}
    env.update(ENGINE_VARIABLES[engine])
    result = subprocess.run(
        [sys.executable, "-c", POSITION_PROGRAM, str(listing)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "4"]
    loaded = listing.read_text().split("\n")
    assert [m for m in loaded if m.split(".")[0] == "click" or m in FORBIDDEN] == []
    builtin_plugins = [m for m in loaded if m.startswith("canfar_plugins.")]
    assert set(builtin_plugins) <= {"canfar_plugins.engines"}
