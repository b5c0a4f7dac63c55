"""canfar-slurm: the ``slurm`` backend, which runs canfar sessions as Slurm job arrays.

A launch of N replicas is one ``sbatch --array`` job; replica k is array task k, with
``REPLICA_ID=k`` and ``REPLICA_COUNT=N`` set, and its session id is Slurm's ``JOBID_TASK``.

This module is imported when canfar starts, so it only registers a factory: the backend and
everything it needs are imported when a ``slurm`` context is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canfar_core import hookimpl

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_core.models import Register
    from canfar_slurm.backend import SlurmBackend

__version__ = "0.1.0"

BACKEND_NAME = "slurm"


def create_backend(context: Context) -> SlurmBackend:
    """Build the Slurm backend for ``context`` (the factory registered as ``slurm``)."""
    from canfar_slurm.backend import SlurmBackend

    return SlurmBackend(context)


@hookimpl
def canfar_register_backends(register: Register) -> None:
    register(BACKEND_NAME, create_backend)


#: The Slurm choices ``canfar create`` offers, each also a setting (``plugins.slurm.NAME``).
CREATE_OPTIONS = {
    "partition": "The Slurm partition to run in (sbatch --partition).",
    "time": "The time limit of each replica, as Slurm writes it: 30, 2:00:00, 1-12:00:00.",
    "account": "The Slurm account to charge (sbatch --account).",
    "qos": "The Slurm quality of service (sbatch --qos).",
}


@hookimpl
def canfar_register_create_options(register: Register) -> None:
    from canfar_core.models import CreateOption

    for name, help_text in CREATE_OPTIONS.items():
        register(name, CreateOption(help=help_text))
