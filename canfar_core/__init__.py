"""The canfar core: hook markers, the plugin manager and the typed records plugins share.

Plugin authors import two names from here::

    from canfar_core import hookimpl

    @hookimpl
    def canfar_register_strategies(register):
        register("reverse", lambda items, replica, count: iter([]))
"""

from __future__ import annotations

import pluggy

from canfar_core._version import __version__

PROJECT_NAME = "canfar"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
