"""Registries: what plugins add through ``register(...)``, and the errors a plugin author meets."""

from __future__ import annotations

import pytest

from canfar_core import hookimpl
from canfar_core.errors import RegistryError, ValidationError
from canfar_core.manager import PluginManager
from canfar_core.models import SessionKind
from canfar_core.registry import REGISTRIES


def every_item(items, replica, count):
    return iter(list(items))


class Strategies:
    """A plugin adding the strategies it is given."""

    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def canfar_register_strategies(self, register):
        for name in self.names:
            register(name, every_item)


def manager_with(*plugins: tuple[str, object]) -> PluginManager:
    manager = PluginManager()  # no entry points: only what the test registers
    for name, plugin in plugins:
        manager.register(plugin, name=name)
    return manager


def test_one_plugin_adds_several_names_and_each_remembers_its_plugin():
    registry = manager_with(("alpha", Strategies("a", "b")), ("beta", Strategies("c"))).registry(
        "strategies"
    )
    assert registry.names() == ["a", "b", "c"]
    assert registry.get("c") is every_item
    assert (registry.owner("a"), registry.owner("c")) == ("alpha", "beta")
    assert len(registry) == 3
    assert "b" in registry
    assert list(registry) == ["a", "b", "c"]


def test_a_name_registered_twice_is_an_error_naming_both_plugins():
    manager = manager_with(("alpha", Strategies("same")), ("beta", Strategies("same")))
    with pytest.raises(RegistryError) as caught:
        manager.registry("strategies")
    message = str(caught.value)
    assert "'same'" in message
    assert "'alpha'" in message
    assert "'beta'" in message


def test_an_unknown_name_is_a_usage_error_listing_the_known_ones():
    registry = manager_with(("alpha", Strategies("b", "a"))).registry("strategies")
    with pytest.raises(ValidationError, match=r"unknown strategy 'zz' \(known: a, b\)") as caught:
        registry.get("zz")
    assert caught.value.exit_code == 2


def test_an_empty_registry_says_none_are_known():
    with pytest.raises(ValidationError, match=r"known: none"):
        manager_with().registry("backends").get("local")


def test_a_plugin_failing_in_its_hook_is_a_warning_and_the_others_register(capsys):
    class Broken:
        @hookimpl
        def canfar_register_strategies(self, register):
            register("half", every_item)
            raise RuntimeError("lost my config")

    registry = manager_with(("broken", Broken()), ("alpha", Strategies("a"))).registry("strategies")
    assert "a" in registry
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'broken'" in err
    assert "RuntimeError: lost my config" in err


def test_register_called_with_the_wrong_arguments_names_the_plugin(capsys):
    class Sloppy:
        @hookimpl
        def canfar_register_backends(self, register):
            register(lambda context: None)  # forgot the name

    registry = manager_with(("sloppy", Sloppy())).registry("backends")
    assert len(registry) == 0
    err = capsys.readouterr().err
    assert "'sloppy'" in err
    assert "register() takes (name, backend)" in err


def test_session_kinds_accept_a_kind_or_a_bare_name():
    class Kinds:
        @hookimpl
        def canfar_register_session_kinds(self, register):
            register(SessionKind("vscode", "VS Code in the browser"))
            register("jupyter-classic")

    registry = manager_with(("kinds", Kinds())).registry("session_kinds")
    assert registry.get("vscode").description == "VS Code in the browser"
    assert isinstance(registry.get("jupyter-classic"), SessionKind)
    assert registry.get("jupyter-classic").name == "jupyter-classic"


def test_a_registry_is_built_once_and_again_after_a_new_plugin():
    calls = []

    class Counting:
        @hookimpl
        def canfar_register_strategies(self, register):
            calls.append(1)

    manager = manager_with(("counting", Counting()))
    first = manager.registry("strategies")
    assert manager.registry("strategies") is first
    manager.register(Strategies("late"), name="late")
    assert "late" in manager.registry("strategies")
    assert len(calls) == 2


@pytest.mark.parametrize("which", sorted(REGISTRIES))
def test_every_registry_the_manager_offers_is_filled_by_its_hook(which):
    _, hook, _ = REGISTRIES[which]

    class One:
        pass

    def register_one(register):
        if which == "session_kinds":
            register("one-kind")
        else:
            register("one", object())

    plugin = One()
    setattr(plugin, hook, hookimpl(register_one))
    registry = manager_with(("one", plugin)).registry(which)
    assert len(registry) == 1
    assert registry.owner(registry.names()[0]) == "one"
