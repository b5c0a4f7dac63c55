"""Built-in plugin: the work-distribution strategies ``chunk`` and ``stripe``.

The algorithms live in :mod:`canfar_plugins._support.shares`, where ``canfar.helpers.distributed``
also calls them directly without loading any plugin; registering the same function objects here
makes them usable by name (``distributed.split(items, "stripe")``) like any plugin's strategy.
"""

from __future__ import annotations

from canfar_core import hookimpl
from canfar_core.models import Register


@hookimpl
def canfar_register_strategies(register: Register) -> None:
    from canfar_plugins._support.shares import chunk, stripe

    register("chunk", chunk)
    register("stripe", stripe)
