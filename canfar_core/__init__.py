"""The canfar core: hook markers, the plugin manager and the typed records plugins share.

Plugin authors import two names from here::

    from canfar_core import hookimpl

    @hookimpl
    def canfar_register_strategies(register):
        register("reverse", lambda items, replica, count: iter([]))
"""

from __future__ import annotations

from canfar_core._version import __version__

PROJECT_NAME = "canfar"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import pluggy

    hookspec: pluggy.HookspecMarker
    hookimpl: pluggy.HookimplMarker


def __getattr__(name: str) -> object:
    # The markers are made on first use: a batch job that imports only canfar.helpers.distributed
    # must not pay for importing pluggy.
    if name in ("hookspec", "hookimpl"):
        import pluggy

        globals()["hookspec"] = pluggy.HookspecMarker(PROJECT_NAME)
        globals()["hookimpl"] = pluggy.HookimplMarker(PROJECT_NAME)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
