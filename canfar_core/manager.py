"""Loads plugins and holds the registries they fill.

Plugins come from the entry-point group ``canfar``; the built-ins are found there too, and are
registered first so that a third-party plugin is called before them (pluggy calls the most recently
registered implementation first). Each entry point is loaded on its own: one that fails to import
or register is reported once on stderr, with its name and the error, and everything else goes on.
``CANFAR_DISABLE_PLUGINS`` and ``CANFAR_LOAD_PLUGINS`` choose which load (docs/environment.md);
each plugin not loaded is remembered with the reason, for ``canfar plugins``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from canfar_core import PROJECT_NAME, hookspecs
from canfar_core.registry import REGISTRIES, Registry

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

DISABLE_VARIABLE = "CANFAR_DISABLE_PLUGINS"
LOAD_VARIABLE = "CANFAR_LOAD_PLUGINS"
#: What ``canfar plugins`` says of each plugin.
LOADED, DISABLED, FAILED = "loaded", "disabled", "failed"
#: The entry-point group in which a distribution names its plugins that answer
#: ``canfar_replica_position``; a batch replica loads only those of that distribution.
POSITION_GROUP = "canfar.replica_position"


@dataclass
class PluginInfo:
    """One loaded plugin, as ``canfar plugins`` lists it."""

    name: str
    version: str | None
    hooks: list[str]
    builtin: bool
    distribution: str | None = None
    module: str | None = None
    #: ``loaded``, ``disabled`` or ``failed``; ``reason`` says why when it is not loaded.
    status: str = LOADED
    reason: str | None = None


@dataclass
class _Origin:
    distribution: str | None
    version: str | None
    builtin: bool


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def disabled_names(environ: Mapping[str, str] | None = None) -> set[str]:
    """The plugin names ``CANFAR_DISABLE_PLUGINS`` lists, normalised."""
    value = (os.environ if environ is None else environ).get(DISABLE_VARIABLE, "")
    return {_normalise(part) for part in value.split(",") if part.strip()}


def load_only_names(environ: Mapping[str, str] | None = None) -> set[str] | None:
    """The plugin names ``CANFAR_LOAD_PLUGINS`` lists, normalised; ``None`` when it is unset."""
    value = (os.environ if environ is None else environ).get(LOAD_VARIABLE)
    if value is None:
        return None
    return {_normalise(part) for part in value.split(",") if part.strip()}


def _skip_reason(
    name: str, origin: _Origin, disabled: set[str], load_only: set[str] | None
) -> str | None:
    """Why the entry point ``name`` is not to be loaded, or ``None``."""
    names = {_normalise(name)} | (
        {_normalise(origin.distribution)} if origin.distribution else set()
    )
    if names & disabled:
        return f"listed in {DISABLE_VARIABLE}"
    if load_only is not None and not origin.builtin and not names & load_only:
        return f"not listed in {LOAD_VARIABLE}"
    return None


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PluginManager:
    """The plugin manager of one canfar process: pluggy's, plus origins and registries."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.hook = self.pm.hook
        #: The plugins found but not loaded (disabled or failed), in the order they were met.
        self.not_loaded: list[PluginInfo] = []
        self._origins: dict[str, _Origin] = {}
        self._registries: dict[str, Registry[Any]] = {}

    # -- loading ---------------------------------------------------------------------------

    def load_entry_points(
        self, environ: Mapping[str, str] | None = None, *, position_only: bool = False
    ) -> None:
        """Load every plugin of the ``canfar`` entry-point group that is not disabled.

        The built-in plugins (those of the ``canfar`` distribution) come first, then the others
        sorted by distribution and entry-point name, so the order never depends on ``sys.path``.
        With ``position_only``, a distribution that lists plugins in :data:`POSITION_GROUP`
        has only those loaded (one that lists none has all of its plugins loaded).
        """
        disabled = disabled_names(environ)
        load_only = load_only_names(environ)
        wanted = _position_plugins() if position_only else {}
        for ep, origin in self._entry_points():
            reason = _skip_reason(ep.name, origin, disabled, load_only)
            if reason is not None:
                self.not_loaded.append(_info(ep.name, origin, DISABLED, reason))
                continue
            listed = wanted.get(_normalise(origin.distribution or ""))
            if listed is not None and ep.name not in listed:
                continue
            if self.pm.has_plugin(ep.name):
                other = self._origins.get(ep.name)
                self._fail(
                    ep.name,
                    f"the name is taken by the plugin of distribution "
                    f"'{other.distribution if other else '?'}'; "
                    f"rename the entry point of '{origin.distribution}'",
                    origin,
                )
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, origin=origin)
            except (Exception, SystemExit) as exc:  # SystemExit: a plugin calling sys.exit
                self._fail(ep.name, _first_line(exc), origin)

    def _entry_points(self) -> list[tuple[EntryPoint, _Origin]]:
        from canfar_core._entrypoints import entry_points  # not importlib.metadata: see there

        found: dict[tuple[str, str], tuple[EntryPoint, _Origin]] = {}
        metadata: dict[int, tuple[str | None, str | None]] = {}
        for ep in entry_points(group=PROJECT_NAME):
            dist = getattr(ep, "dist", None)
            if dist is not None and id(dist) not in metadata:
                meta = dist.metadata  # parsed once per distribution, not once per entry point
                metadata[id(dist)] = (meta.get("Name"), meta.get("Version"))
            dist_name, version = metadata[id(dist)] if dist is not None else (None, None)
            key = (_normalise(dist_name or ""), ep.name)
            if key in found:  # the same distribution found twice on sys.path: the first wins
                continue
            builtin = dist_name is not None and _normalise(dist_name) == PROJECT_NAME
            found[key] = (ep, _Origin(distribution=dist_name, version=version, builtin=builtin))
        return sorted(found.values(), key=lambda pair: (not pair[1].builtin, *_sort_key(pair)))

    def register(self, plugin: Any, name: str | None = None, origin: Any = None) -> str:
        """Register a plugin object (module, class instance, ...); returns its name.

        A plugin implementing a hook that does not exist (a misspelt hook name, usually) is
        refused with a :class:`ValueError` naming it, and left unregistered.
        """
        try:
            registered = self.pm.register(plugin, name=name)
        except Exception:
            self._forget(plugin)  # older pluggy leaves a half-registered plugin behind
            raise
        if registered is None:  # pluggy refuses a plugin blocked or registered already
            raise ValueError(f"plugin '{name}' is already registered")
        unknown = sorted(
            caller.name
            for caller in self.pm.get_hookcallers(plugin) or []
            if not caller.has_spec()
            and not all(impl.optionalhook for impl in caller.get_hookimpls())
        )
        if unknown:
            self.pm.unregister(plugin)
            raise ValueError(
                f"it implements unknown hook {', '.join(repr(n) for n in unknown)} "
                f"(known: {', '.join(hookspecs.hook_names())})"
            )
        self._origins[registered] = origin or _Origin(
            distribution=None, version=getattr(plugin, "__version__", None), builtin=False
        )
        self._registries.clear()
        return registered

    def _forget(self, plugin: Any) -> None:
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (used by the test fixture)."""
        self.pm.unregister(name=name)
        self._origins.pop(name, None)
        self._registries.clear()

    def _fail(self, name: str, message: str, origin: _Origin | None = None) -> None:
        self.not_loaded.append(_info(name, origin, FAILED, message))
        sys.stderr.write(f"canfar: warning: plugin '{name}' was not loaded: {message}\n")

    # -- what was loaded -------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin, in registration order, with its version and hooks."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if name is None or plugin is None:
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

    @property
    def failures(self) -> list[PluginInfo]:
        """The plugins that failed to load, each with its ``reason`` (one line)."""
        return [p for p in self.not_loaded if p.status == FAILED]

    def statuses(self) -> list[PluginInfo]:
        """Every plugin found: those loaded, then those disabled or failed, with the reason."""
        return [*self.plugins(), *self.not_loaded]

    def registry(self, which: str) -> Registry[Any]:
        """The registry ``which`` (``strategies``, ``backends``, ``auth_providers``,
        ``session_kinds``, ``output_formats``), filled on first use."""
        if which not in self._registries:
            what, hook, cls = REGISTRIES[which]
            self._registries[which] = cls(what, hook).fill(self.pm)
        return self._registries[which]


def _info(name: str, origin: _Origin | None, status: str, reason: str) -> PluginInfo:
    return PluginInfo(
        name=name,
        version=origin.version if origin else None,
        hooks=[],
        builtin=bool(origin and origin.builtin),
        distribution=origin.distribution if origin else None,
        status=status,
        reason=reason,
    )


def _position_plugins() -> dict[str, set[str]]:
    """The plugin names each distribution lists in :data:`POSITION_GROUP`, by distribution."""
    from canfar_core._entrypoints import entry_points

    listed: dict[str, set[str]] = {}
    for ep in entry_points(group=POSITION_GROUP):
        dist = getattr(ep, "dist", None)
        name = _normalise(dist.metadata.get("Name") or "") if dist is not None else ""
        listed.setdefault(name, set()).add(ep.name)
    return listed


def _sort_key(pair: tuple[EntryPoint, _Origin]) -> tuple[str, str]:
    return (_normalise(pair[1].distribution or ""), pair[0].name)


_manager: PluginManager | None = None


def get_manager() -> PluginManager:
    """The process-wide plugin manager, with every entry point loaded on first call."""
    global _manager
    if _manager is None:
        manager = PluginManager()
        manager.load_entry_points()
        _manager = manager
    return _manager


_position_manager: PluginManager | None = None


def position_manager() -> PluginManager:
    """The plugins a batch replica asks for its position, without the others.

    A replica under another engine's array jobs needs only the plugins that may answer
    ``canfar_replica_position``, not the commands, backends and auth providers (click, requests,
    sqlite3): each distribution names those in the entry-point group :data:`POSITION_GROUP`,
    and all the plugins of a distribution that names none are loaded. Once the process-wide
    manager is loaded, that one is used.
    """
    global _position_manager
    if _manager is not None:
        return _manager
    if _position_manager is None:
        manager = PluginManager()
        manager.load_entry_points(position_only=True)
        _position_manager = manager
    return _position_manager


def reset_manager() -> None:
    """Forget the plugin manager, so the next :func:`get_manager` loads plugins again."""
    global _manager, _position_manager
    _manager = None
    _position_manager = None
