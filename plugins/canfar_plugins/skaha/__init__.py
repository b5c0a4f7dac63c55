"""Built-in plugin: the ``canfar`` backend (the Skaha HTTP API of the CANFAR Science Platform).

This module stays light: it is imported at start-up. The backend (``client``), its HTTP layer
(``http``, which needs requests), registry discovery (``discovery``) and the platform's storage
(``vospace``, an fsspec filesystem behind ``arc:`` and ``vault:``) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canfar_core import hookimpl

if TYPE_CHECKING:
    from canfar_core.backend import Backend
    from canfar_core.contexts import Context
    from canfar_core.models import Register, Server


def canfar_backend(context: Context) -> Backend:
    """The backend factory: a :class:`~canfar_plugins.skaha.client.SkahaBackend`."""
    from canfar_plugins.skaha.client import SkahaBackend

    return SkahaBackend(context)


@hookimpl
def canfar_register_backends(register: Register) -> None:
    register("canfar", canfar_backend)


def platform_storage(leaf: str, context: Context) -> Any:
    """The factory of ``arc`` and ``vault``: the platform's VOSpace service when logged in to
    it, else nothing (with no login, the local plugin's ``arc`` answers)."""
    if context.backend != "canfar" or not context.url:
        return None
    from canfar_plugins.skaha.vospace import VOSpaceFileSystem

    return VOSpaceFileSystem(leaf, context)


@hookimpl
def canfar_register_storage(register: Register) -> None:
    register("arc", lambda context: platform_storage("arc", context))
    register("vault", lambda context: platform_storage("vault", context))


@hookimpl
def canfar_discover_servers() -> list[Server]:
    """The Skaha services the known registries list (``CANFAR_REGISTRY_URLS`` replaces them),
    and CANFAR's own by default."""
    from canfar_plugins.skaha.discovery import discover

    return discover()
