"""Built-in plugin: the ``local`` backend, which runs sessions as processes on this machine.

It is the active backend whenever no CANFAR context is logged in, so that
``canfar create headless IMAGE -- CMD ARGS`` works with no account and no network. Each replica is
a detached process group whose output goes to a log file and whose exit code is recorded even
after ``canfar`` has exited; sessions are kept in a SQLite database under canfar's state folder.

It also adds the storages ``local`` (this machine's files) and, with the local backend, ``arc``
(a folder here, mounted at ``/arc`` in container sessions).

This module is imported at start-up, so it only registers a factory: the implementation
(SQLite, process control, runtime probes) is imported when a local backend is first built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canfar_core import hookimpl

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_core.models import Register
    from canfar_plugins.local.backend import LocalBackend

BACKEND_NAME = "local"


def create_backend(context: Context) -> LocalBackend:
    """Build the local backend for ``context`` (the factory registered as ``local``)."""
    from canfar_plugins.local.backend import LocalBackend

    return LocalBackend(context)


@hookimpl
def canfar_register_create_options(register: Register) -> None:
    from canfar_core.models import CreateOption

    register("runtime", CreateOption(help="The container runtime to run the image with."))


@hookimpl
def canfar_register_backends(register: Register) -> None:
    register(BACKEND_NAME, create_backend)


@hookimpl
def canfar_register_storage(register: Register) -> None:
    from canfar_plugins.local.storage import arc_storage, local_storage

    register("local", local_storage)
    register("arc", arc_storage)
