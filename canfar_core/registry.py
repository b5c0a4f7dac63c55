"""Holds what plugins add through the ``canfar_register_*`` hooks.

Each registry calls its hook on every plugin in registration order (built-ins first), handing
each one a ``register`` callback that remembers which plugin added which name. A name added twice
is a :class:`~canfar_core.errors.RegistryError` naming both plugins.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from canfar_core.errors import RegistryError, ValidationError

if TYPE_CHECKING:
    import pluggy

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to things (strategies, backends, ...), filled from one registration hook."""

    def __init__(self, what: str, hook: str, argname: str = "register") -> None:
        self.what = what
        self.hook = hook
        self.argname = argname
        self._items: dict[str, T] = {}
        self._owners: dict[str, str] = {}

    def _entry(self, *args: Any) -> tuple[str, T]:
        """Turn the arguments of one ``register(...)`` call into ``(name, thing)``."""
        if len(args) != 2 or not isinstance(args[0], str):
            raise TypeError(f"register() takes (name, {self.what})")
        return args[0], args[1]

    def fill(self, pm: pluggy.PluginManager) -> Registry[T]:
        """Ask every plugin to register; returns ``self``."""
        caller = getattr(pm.hook, self.hook)
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                continue  # a wrapper registers nothing; calling it alone would do nothing
            owner = impl.plugin_name

            def register(*args: Any, _owner: str = owner) -> None:
                name, thing = self._entry(*args)
                self.add(name, thing, owner=_owner)

            try:
                impl.function(**{self.argname: register})
            except RegistryError:
                raise
            except Exception as exc:  # a broken plugin must not take the others down
                sys.stderr.write(
                    f"canfar: warning: plugin '{owner}' failed in {self.hook}: "
                    f"{type(exc).__name__}: {exc}\n"
                )
        return self

    def add(self, name: str, thing: T, owner: str) -> None:
        """Add ``thing`` under ``name``; a name already taken is an error naming both owners."""
        if name in self._items:
            raise RegistryError(
                f"{self.what} '{name}' is registered twice: "
                f"by plugin '{self._owners[name]}' and by plugin '{owner}'"
            )
        self._items[name] = thing
        self._owners[name] = owner

    def get(self, name: str) -> T:
        """The thing registered as ``name``; an unknown name is an error listing the known ones."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ValidationError(f"unknown {self.what} '{name}' (known: {known})") from None

    def owner(self, name: str) -> str:
        """The plugin that registered ``name``."""
        return self._owners[name]

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class KindRegistry(Registry[Any]):
    """Session kinds: ``register(kind)`` with a :class:`SessionKind` or a bare name."""

    def _entry(self, *args: Any) -> tuple[str, Any]:
        from canfar_core.models import SessionKind

        if len(args) != 1:
            raise TypeError("register() takes one SessionKind")
        kind = args[0]
        if isinstance(kind, str):
            kind = SessionKind(kind)
        return kind.name, kind


class OptionRegistry(Registry[Any]):
    """Create options: a name taken already is reported once, naming both plugins, and the
    later one is skipped, so that ``create`` still works."""

    def add(self, name: str, thing: Any, owner: str) -> None:
        if name in self._items:
            sys.stderr.write(
                f"canfar: warning: plugin '{owner}' could not add the create option '{name}': "
                f"plugin '{self._owners[name]}' has it already\n"
            )
            return
        super().add(name, thing, owner)


class StorageRegistry(Registry[Any]):
    """Storage factories: one name may have one factory per plugin, for different contexts."""

    def add(self, name: str, thing: Any, owner: str) -> None:
        factories = self._items.setdefault(name, [])
        if owner in self._owners.get(name, "").split(","):
            raise RegistryError(f"storage '{name}' is registered twice by plugin '{owner}'")
        factories.append(thing)
        self._owners[name] = ",".join(filter(None, [self._owners.get(name), owner]))

    def filesystem(self, name: str, context: Any) -> Any:
        """The filesystem of the first factory for ``name`` that has one in ``context``;
        plugins are asked in the reverse of registration order, so built-ins come last."""
        for factory in reversed(self._items.get(name, [])):
            found = factory(context)
            if found is not None:
                return found
        return None


#: What the manager builds, by attribute name: (label in messages, hook, registry class).
REGISTRIES: dict[str, tuple[str, str, Callable[..., Registry[Any]]]] = {
    "strategies": ("strategy", "canfar_register_strategies", Registry),
    "backends": ("backend", "canfar_register_backends", Registry),
    "auth_providers": ("auth provider", "canfar_register_auth_providers", Registry),
    "session_kinds": ("session kind", "canfar_register_session_kinds", KindRegistry),
    "output_formats": ("output format", "canfar_register_output_formats", Registry),
    "create_options": ("create option", "canfar_register_create_options", OptionRegistry),
    "storage": ("storage", "canfar_register_storage", StorageRegistry),
}
