"""The batch script of one launch, and where its image runs.

sbatch reads the script from its standard input, so nothing is written to disk and no secret
in ``--env`` appears on a command line. Every word of the user's command is quoted for the
POSIX shell that Slurm runs the script with; canfar itself never runs a shell.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from canfar_core.errors import ValidationError

CONTAINER_COMMANDS = ("apptainer", "singularity")
HOST = "host"


@dataclass(frozen=True)
class Placement:
    """Where the command runs: ``host``, or a container command and the image it runs."""

    runtime: str
    image_reference: str | None = None

    def describe(self) -> str:
        if self.runtime == HOST:
            return "the host environment of the cluster's nodes"
        return f"{self.runtime} ({self.image_reference})"


def runnable_image(image: str) -> bool:
    """Images apptainer can run straight from a reference: ``docker://...`` and ``.sif`` files."""
    return image.startswith("docker://") or image.endswith(".sif")


def place(image: str, container: str, workdir: str) -> Placement:
    """Choose where ``image`` runs from the ``container`` setting (see ``settings.CONTAINERS``)."""
    if container == "none":
        return Placement(HOST)
    if container == "auto":
        found = next((c for c in CONTAINER_COMMANDS if shutil.which(c)), None)
        if found is None or not runnable_image(image):
            return Placement(HOST)
        container = found
    elif shutil.which(container) is None:
        raise ValidationError(
            f"container '{container}' was chosen but {container} is not installed"
        )
    if not runnable_image(image):
        raise ValidationError(
            f"{container} runs docker://IMAGE references and .sif files, not '{image}'"
        )
    if image.endswith(".sif") and not image.startswith("docker://"):
        path = os.path.join(workdir, image)
        if not os.path.isfile(path):
            raise ValidationError(f"image file '{image}' does not exist in {workdir}")
        image = os.path.abspath(path)
    return Placement(container, image)


def batch_script(
    *,
    command: Sequence[str],
    env: Mapping[str, str],
    replicas: int,
    placement: Placement,
    exit_dir: str,
    gpus: int | None = None,
) -> str:
    """A POSIX shell batch script: the environment, the command, and its exit code recorded.

    ``REPLICA_ID`` is the array task id (the launch uses the replica numbers as task ids) and
    ``REPLICA_COUNT`` the size of the whole launch. The exit code goes to
    ``exit_dir/JOBID_TASK.exit``, so it is known even on clusters without accounting.
    """
    lines = ["#!/bin/sh", "# Written by canfar: one replica of a canfar session."]
    for key, value in env.items():
        lines.append(f"{key}={shlex.quote(value)}; export {key}")
    lines += [
        'REPLICA_ID="$SLURM_ARRAY_TASK_ID"; export REPLICA_ID',
        f"REPLICA_COUNT={replicas}; export REPLICA_COUNT",
        'skaha_sessionid="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; export skaha_sessionid',
    ]
    argv = list(command)
    if placement.runtime != HOST:
        prefix = [placement.runtime, "exec"]
        if gpus:
            prefix.append("--nv")
        argv = [*prefix, str(placement.image_reference), *argv]
    exit_file = shlex.quote(exit_dir.rstrip("/") + "/") + '"$skaha_sessionid.exit"'
    lines += [
        shlex.join(argv),
        "code=$?",
        f"printf '%s\\n' \"$code\" > {exit_file}",
        'exit "$code"',
    ]
    return "\n".join(lines) + "\n"
