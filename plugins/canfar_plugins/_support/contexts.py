"""Choosing the active context: ``canfar auth switch``, ``canfar.server`` and a login of the
Python API. A saved entry is read only when it is the one chosen."""

from __future__ import annotations

from typing import Any

from canfar_core import config
from canfar_core.contexts import LOCAL, Context, saved_contexts
from canfar_core.errors import NotFound


def saved_entries(data: dict[str, Any]) -> dict[str, Any]:
    """The saved contexts as they are written in the config, broken ones included."""
    entries = data.get("contexts") or {}
    if not isinstance(entries, dict):
        saved_contexts(data)  # raises the error that names the file
    return entries


def set_active(name: str) -> Context:
    """Make a saved context (or ``local``) the active one.

    Only the chosen entry is read: another one that is broken (the active one, say) never
    stops a switch away from it.
    """
    with config.config_file().update() as data:
        if name == LOCAL and not isinstance(data.get("contexts"), dict):
            entries: dict[str, Any] = {}  # a broken file never keeps sessions off this machine
        else:
            entries = saved_entries(data)
        if name in entries:
            chosen = saved_contexts({"contexts": {name: entries[name]}})[name]
        elif name == LOCAL:
            chosen = Context(name=LOCAL, backend=LOCAL, source="default")
        else:
            known = ", ".join([LOCAL, *(n for n in entries if n != LOCAL)])
            raise NotFound(f"no context named '{name}' (known: {known})")
        data["active"] = name
    return chosen
