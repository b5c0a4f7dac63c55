"""``from canfar.helpers import distributed`` in a local job that runs the user's own Python.

Installed with pipx, canfar lives in an environment of its own that a job's ``python`` (the
user's) cannot import from, and must not: putting that environment on ``sys.path`` would put
canfar's dependencies in front of the user's. ``distributed`` needs none of them (it imports
only ``canfar_core.distribution`` and the strategies of ``canfar_plugins._support.shares``), so
a job gets, on ``PYTHONPATH``, a folder holding copies of just those few modules, and nothing
else.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: The modules ``canfar.helpers.distributed`` needs, by package.
LIGHT_MODULES = {
    "canfar": ("__init__.py", "helpers/__init__.py", "helpers/distributed.py"),
    "canfar_core": ("__init__.py", "_version.py", "distribution.py", "errors.py"),
    "canfar_plugins": ("__init__.py", "_support/__init__.py", "_support/shares.py"),
}
FOLDER = "job-pythonpath"


def _sources() -> dict[str, bytes]:
    """The light modules' text, by their path under the folder (``canfar/__init__.py``)."""
    import canfar
    import canfar_core
    import canfar_plugins

    roots = {
        "canfar": Path(canfar.__file__).parent,
        "canfar_core": Path(canfar_core.__file__).parent,
        "canfar_plugins": Path(canfar_plugins.__file__).parent,
    }
    return {
        f"{package}/{name}": (roots[package] / name).read_bytes()
        for package, names in LIGHT_MODULES.items()
        for name in names
    }


def helpers_folder() -> Path:
    """A folder holding the light modules, made once per version of them (its name is a hash
    of their text) in canfar's state folder; safe when several launches make it at once."""
    from canfar_core.config import private_dir, state_dir

    sources = _sources()
    digest = hashlib.sha256()
    for name, data in sorted(sources.items()):
        digest.update(name.encode() + b"\0" + data + b"\0")
    base = private_dir(state_dir() / FOLDER)
    target = base / digest.hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    import tempfile

    building = Path(tempfile.mkdtemp(dir=base, prefix=".new-"))
    for name, data in sources.items():
        path = building / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (building / ".complete").write_text("")
    os.chmod(building, 0o755)
    try:
        os.replace(building, target)
    except OSError:  # another launch made it first
        import shutil

        shutil.rmtree(building, ignore_errors=True)
    return target


def with_helpers(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the helpers folder last on ``PYTHONPATH`` (the user's entries first)."""
    folder = str(helpers_folder())
    current = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if folder not in current:
        env["PYTHONPATH"] = os.pathsep.join([*current, folder])
    return env
