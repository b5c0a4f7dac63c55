"""Choosing which plugins load (``CANFAR_LOAD_PLUGINS``, ``CANFAR_DISABLE_PLUGINS``) and what
``canfar plugins`` says of each: loaded, disabled or failed, with the reason."""

from __future__ import annotations

import json

import pytest

from canfar_core.cli import main
from canfar_core.manager import PluginManager

GOOD = """
    from canfar_core import hookimpl

    @hookimpl
    def canfar_register_strategies(register):
        register("{strategy}", lambda items, replica, count: iter(list(items)))
"""


def loaded(environ: dict[str, str]) -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points(environ)
    return manager


@pytest.fixture
def three(make_dist):
    """Two good plugins from two distributions, and one that fails to import."""
    for name, strategy in (("alpha", "a"), ("beta", "b")):
        module = f"{name}_selection_plugin"
        make_dist(f"canfar-{name}", "1.0", {name: module}, {module: GOOD.format(strategy=strategy)})
    make_dist("canfar-gamma", "2.0", {"gamma": "gamma_sel"}, {"gamma_sel": "import nowhere_x\n"})


def by_name(manager: PluginManager) -> dict[str, tuple[str, str | None]]:
    return {p.name: (p.status, p.reason) for p in manager.statuses()}


def test_load_plugins_loads_only_those_named_besides_the_builtins(three, capsys):
    manager = loaded({"CANFAR_LOAD_PLUGINS": "alpha, canfar-gamma"})
    found = by_name(manager)
    assert found["alpha"] == ("loaded", None)
    assert found["beta"] == ("disabled", "not listed in CANFAR_LOAD_PLUGINS")
    assert found["gamma"] == ("failed", "ModuleNotFoundError: No module named 'nowhere_x'")
    assert "a" in manager.registry("strategies")
    assert "b" not in manager.registry("strategies")
    assert {"local", "strategies", "sessions"} <= {p.name for p in manager.plugins()}
    assert "'gamma' was not loaded" in capsys.readouterr().err


def test_an_empty_load_plugins_loads_the_builtins_only(three, capsys):
    manager = loaded({"CANFAR_LOAD_PLUGINS": ""})
    assert all(p.builtin for p in manager.plugins())
    assert {
        name: status
        for name, (status, _) in by_name(manager).items()
        if name in ("alpha", "beta", "gamma")
    } == {
        "alpha": "disabled",
        "beta": "disabled",
        "gamma": "disabled",
    }
    assert capsys.readouterr().err == ""  # the broken one is not even imported


def test_disable_wins_over_load_and_names_its_variable(three):
    found = by_name(loaded({"CANFAR_LOAD_PLUGINS": "alpha,beta", "CANFAR_DISABLE_PLUGINS": "beta"}))
    assert found["alpha"] == ("loaded", None)
    assert found["beta"] == ("disabled", "listed in CANFAR_DISABLE_PLUGINS")


def test_canfar_plugins_shows_each_status_with_the_reason(three, monkeypatch, capsys):
    monkeypatch.setenv("CANFAR_LOAD_PLUGINS", "alpha,gamma")
    assert main(["plugins", "--json"]) == 0
    listed = {item["name"]: item for item in json.loads(capsys.readouterr().out)}
    assert listed["alpha"] == {
        "name": "alpha",
        "version": "1.0",
        "hooks": ["canfar_register_strategies"],
        "builtin": False,
        "status": "loaded",
        "reason": None,
    }
    assert (listed["beta"]["status"], listed["beta"]["reason"]) == (
        "disabled",
        "not listed in CANFAR_LOAD_PLUGINS",
    )
    assert listed["gamma"]["status"] == "failed"
    assert listed["gamma"]["version"] == "2.0"

    assert main(["plugins"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["beta"].split()[:4] == ["beta", "1.0", "no", "disabled:"]
    assert "not listed in CANFAR_LOAD_PLUGINS" in rows["beta"]
    assert "failed: ModuleNotFoundError: No module named 'nowhere_x'" in rows["gamma"]
