"""Loads plugins and holds the registries they fill.

Plugins come from the entry-point group ``canfar``; the built-ins are found there too. Each entry
point is loaded on its own: one that fails to import or register is reported once on stderr, with
its name and the error, and everything else goes on. ``CANFAR_DISABLE_PLUGINS=a,b`` skips entry
points (by entry-point name or distribution name).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import pluggy

from canfar_core import PROJECT_NAME, hookspecs
from canfar_core.registry import REGISTRIES, Registry

DISABLE_VARIABLE = "CANFAR_DISABLE_PLUGINS"


@dataclass
class PluginInfo:
    """One loaded plugin, as ``canfar plugins`` lists it."""

    name: str
    version: str | None
    hooks: list[str]
    builtin: bool
    distribution: str | None = None
    module: str | None = None


@dataclass
class PluginFailure:
    name: str
    error: str


@dataclass
class _Origin:
    distribution: str | None
    version: str | None
    builtin: bool


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def disabled_names(environ: os._Environ[str] | dict[str, str] | None = None) -> set[str]:
    """The plugin names ``CANFAR_DISABLE_PLUGINS`` lists, normalised."""
    value = (environ if environ is not None else os.environ).get(DISABLE_VARIABLE, "")
    return {_normalise(part.strip()) for part in value.split(",") if part.strip()}


class PluginManager:
    """The plugin manager of one canfar process: pluggy's, plus origins and registries."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.hook = self.pm.hook
        self.failures: list[PluginFailure] = []
        self._origins: dict[str, _Origin] = {}
        self._registries: dict[str, Registry[Any]] = {}

    # -- loading ---------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Load every plugin of the ``canfar`` entry-point group that is not disabled."""
        from importlib.metadata import entry_points

        disabled = disabled_names()
        seen: set[str] = set()
        for ep in entry_points(group=PROJECT_NAME):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else None
            key = f"{dist_name}:{ep.name}"
            if key in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(key)
            if _normalise(ep.name) in disabled or (
                dist_name and _normalise(dist_name) in disabled
            ):
                continue
            origin = _Origin(
                distribution=dist_name,
                version=dist.version if dist is not None else None,
                builtin=dist_name is not None and _normalise(dist_name) == PROJECT_NAME,
            )
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, origin=origin)
            except Exception as exc:
                self._fail(ep.name, exc)

    def register(self, plugin: Any, name: str | None = None, origin: Any = None) -> str:
        """Register a plugin object (module, class instance, ...); returns its name."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:  # pluggy refuses a plugin blocked or registered already
            raise ValueError(f"plugin '{name}' is already registered")
        self._origins[registered] = origin or _Origin(
            distribution=None, version=getattr(plugin, "__version__", None), builtin=False
        )
        self._registries.clear()
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (used by the test fixture)."""
        self.pm.unregister(name=name)
        self._origins.pop(name, None)
        self._registries.clear()

    def _fail(self, name: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        self.failures.append(PluginFailure(name, message))
        sys.stderr.write(f"canfar: warning: plugin '{name}' was not loaded: {message}\n")

    # -- what was loaded -------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin with its version and the hooks it implements."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if name is None:
                continue
            origin = self._origins.get(name)
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
            infos.append(
                PluginInfo(
                    name=name,
                    version=origin.version if origin else None,
                    hooks=hooks,
                    builtin=bool(origin and origin.builtin),
                    distribution=origin.distribution if origin else None,
                    module=getattr(plugin, "__name__", type(plugin).__name__),
                )
            )
        return infos

    def registry(self, which: str) -> Registry[Any]:
        """The registry ``which`` (``strategies``, ``backends``, ``auth_providers``,
        ``session_kinds``), filled on first use."""
        if which not in self._registries:
            what, hook, cls = REGISTRIES[which]
            self._registries[which] = cls(what, hook).fill(self.pm)
        return self._registries[which]


_manager: PluginManager | None = None


def get_manager() -> PluginManager:
    """The process-wide plugin manager, with every entry point loaded on first call."""
    global _manager
    if _manager is None:
        manager = PluginManager()
        manager.load_entry_points()
        _manager = manager
    return _manager


def reset_manager() -> None:
    """Forget the plugin manager, so the next :func:`get_manager` loads plugins again."""
    global _manager
    _manager = None
