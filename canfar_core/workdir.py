"""The folder a session runs in, for backends that start it from this machine (``local``,
Slurm): the ``workdir`` option, else the current directory. A documented door for plugins."""

from __future__ import annotations

import os

from canfar_core.errors import ValidationError


def working_directory(given: object = None) -> str:
    """``given`` as an absolute path, or the current directory when it is empty.

    Raises :class:`ValidationError` (exit 2) when the folder does not exist, or when the
    current directory was removed under the user's shell.
    """
    try:
        workdir = os.path.abspath(str(given)) if given else os.getcwd()
    except FileNotFoundError:
        raise ValidationError(
            "the current directory no longer exists; cd somewhere else and try again"
        ) from None
    if not os.path.isdir(workdir):
        raise ValidationError(f"working directory '{workdir}' does not exist")
    return workdir
