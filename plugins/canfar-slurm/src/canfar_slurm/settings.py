"""Where each launch's Slurm choices come from.

First match wins, key by key:

1. the request's options (``Session(...).create(..., partition="gpu")``, or a site plugin's
   ``canfar_prepare_session`` setting ``spec.options["partition"]``);
2. the context's options (``contexts.NAME.options.partition`` in canfar's config);
3. the user's settings (``canfar config set plugins.slurm.partition gpu``, or the variable
   ``CANFAR_SLURM_PARTITION``, which wins over the file);
4. Slurm's own defaults, including its ``SBATCH_*`` input variables (``SBATCH_PARTITION``,
   ``SBATCH_ACCOUNT``, ``SBATCH_TIMELIMIT``), which sbatch reads itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canfar_core.errors import ValidationError
from canfar_slurm import commands

KEYS = ("partition", "account", "time", "qos", "log_dir", "container")
#: How a session's image is run: ``auto`` uses apptainer (or singularity) when the image is a
#: ``docker://`` or ``.sif`` reference and the command is installed; ``none`` never does.
CONTAINERS = ("auto", "apptainer", "singularity", "none")
SETTINGS_PREFIX = "plugins.slurm"


@dataclass(frozen=True)
class Settings:
    partition: str | None = None
    account: str | None = None
    time: str | None = None
    qos: str | None = None
    log_dir: str | None = None
    container: str = "auto"


def state_root() -> Path:
    """canfar's state folder for this backend (the same folder the core keeps state in)."""
    from canfar_core.config import state_dir

    return state_dir() / "slurm"


def user_settings() -> dict[str, Any]:
    """``plugins.slurm.*`` from canfar's config file, each overridden by its ``CANFAR_SLURM_*``
    variable ({} when there are none)."""
    from canfar_core.config import plugin_settings

    return plugin_settings("slurm")


def resolve(*layers: Mapping[str, Any]) -> Settings:
    """The settings of one launch from ``layers``, most important first, each value checked."""
    chosen: dict[str, str] = {}
    for key in KEYS:
        for layer in layers:
            value = layer.get(key)
            if value is not None and str(value).strip():
                chosen[key] = str(value).strip()
                break
    for key in ("partition", "account", "qos"):
        if key in chosen:
            chosen[key] = commands.check_name(key, chosen[key])
    if "time" in chosen:
        chosen["time"] = commands.check_time(chosen["time"])
    container = chosen.pop("container", "auto").lower()
    if container not in CONTAINERS:
        raise ValidationError(
            f"container '{container}' is not one of {', '.join(CONTAINERS)} "
            f"(set with: canfar config set {SETTINGS_PREFIX}.container auto)"
        )
    return Settings(container=container, **chosen)
