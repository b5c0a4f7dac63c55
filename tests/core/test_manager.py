"""The plugin manager: entry points loaded one at a time, failures reported once, order, opt-out."""

from __future__ import annotations

from importlib.metadata import distribution

import pytest

from canfar_core.manager import PluginManager, disabled_names, get_manager, reset_manager

GOOD = """
    from canfar_core import hookimpl

    @hookimpl
    def canfar_register_strategies(register):
        register("{strategy}", lambda items, replica, count: iter(list(items)))
"""


def builtin_entry_points() -> set[str]:
    return {ep.name for ep in distribution("canfar").entry_points if ep.group == "canfar"}


def loaded(environ: dict[str, str] | None = None) -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points(environ if environ is not None else {})
    return manager


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "warning" in line]


def test_a_third_party_plugin_is_loaded_with_its_distribution_version(make_dist, capsys):
    make_dist(
        "canfar-good", "2.5.0", {"good": "good_plugin"}, {"good_plugin": GOOD.format(strategy="g")}
    )
    manager = loaded()
    info = {p.name: p for p in manager.plugins()}["good"]
    assert (info.version, info.builtin, info.distribution) == ("2.5.0", False, "canfar-good")
    assert info.hooks == ["canfar_register_strategies"]
    assert "g" in manager.registry("strategies")
    assert capsys.readouterr().err == ""


def test_every_builtin_entry_point_is_loaded_and_marked_builtin(capsys):
    manager = loaded()
    builtins = {p.name for p in manager.plugins() if p.builtin}
    assert builtins == builtin_entry_points()
    assert not manager.failures, capsys.readouterr().err


def test_builtins_come_first_then_others_by_distribution_not_by_sys_path(make_dist):
    # zzz is first on sys.path (prepended last), yet aaa is registered before it.
    make_dist("canfar-aaa", "1", {"aaa": "aaa_plugin"}, {"aaa_plugin": GOOD.format(strategy="a")})
    make_dist("canfar-zzz", "1", {"zzz": "zzz_plugin"}, {"zzz_plugin": GOOD.format(strategy="z")})
    infos = loaded().plugins()
    flags = [p.builtin for p in infos]
    assert flags == sorted(flags, reverse=True), "a third-party plugin came before a built-in"
    names = [p.name for p in infos]
    assert names.index("aaa") < names.index("zzz")


def test_a_third_party_plugin_answers_a_firstresult_hook_before_the_builtins(make_dist):
    source = """
        from canfar_core import hookimpl

        @hookimpl
        def canfar_replica_position(environ):
            return (7, 9)
    """
    environ = {"JOB_COMPLETION_INDEX": "0"}  # a Kubernetes Indexed Job: a built-in answers
    assert loaded().hook.canfar_replica_position(environ=environ) not in (None, (7, 9))
    make_dist("canfar-pbs", "1", {"pbs": "pbs_plugin"}, {"pbs_plugin": source})
    assert loaded().hook.canfar_replica_position(environ=environ) == (7, 9)


def test_a_batch_replica_loads_only_the_plugins_that_may_answer_its_position(make_dist):
    # A distribution names its position plugins in the group canfar.replica_position (the
    # canfar distribution names its engines plugin there); one that names none loads whole.
    folder = make_dist(
        "canfar-pbs",
        "1",
        {"pbs": "pbs_plugin", "pbs_cmds": "pbs_cmds"},
        {"pbs_plugin": GOOD.format(strategy="p"), "pbs_cmds": GOOD.format(strategy="c")},
    )
    entry_points = folder / "canfar_pbs-1.dist-info" / "entry_points.txt"
    entry_points.write_text(
        entry_points.read_text("utf-8") + "\n[canfar.replica_position]\npbs = pbs_plugin\n"
    )
    make_dist("canfar-aaa", "1", {"aaa": "aaa_plugin"}, {"aaa_plugin": GOOD.format(strategy="a")})
    manager = PluginManager()
    manager.load_entry_points({}, position_only=True)
    infos = manager.plugins()
    assert {p.name for p in infos if p.builtin} == {"engines"}
    assert {p.name for p in infos if p.distribution in ("canfar-pbs", "canfar-aaa")} == {
        "pbs",
        "aaa",
    }
    assert {p.name for p in loaded().plugins()} >= builtin_entry_points() | {"pbs_cmds"}


def test_a_plugin_whose_import_raises_is_one_warning_and_the_rest_loads(make_dist, capsys):
    make_dist(
        "canfar-bad",
        "1",
        {"bad": "bad_plugin"},
        {"bad_plugin": "raise RuntimeError('no gpu here')\n"},
    )
    make_dist(
        "canfar-good", "1", {"good": "good_plugin"}, {"good_plugin": GOOD.format(strategy="g")}
    )
    manager = loaded()
    lines = warnings(capsys.readouterr().err)
    assert len(lines) == 1
    assert "'bad'" in lines[0]
    assert "RuntimeError: no gpu here" in lines[0]
    names = {p.name for p in manager.plugins()}
    assert "good" in names
    assert "bad" not in names
    assert builtin_entry_points() <= names
    assert [(f.name, f.reason) for f in manager.failures] == [("bad", "RuntimeError: no gpu here")]


def test_a_plugin_calling_sys_exit_on_import_does_not_end_canfar(make_dist, capsys):
    make_dist(
        "canfar-quit", "1", {"quit": "quit_plugin"}, {"quit_plugin": "import sys\nsys.exit(3)\n"}
    )
    manager = loaded()
    assert [f.name for f in manager.failures] == ["quit"]
    assert len(warnings(capsys.readouterr().err)) == 1


def test_an_entry_point_naming_a_missing_module_is_reported(make_dist, capsys):
    make_dist("canfar-ghost", "1", {"ghost": "no_such_module_anywhere"}, {})
    loaded()
    (line,) = warnings(capsys.readouterr().err)
    assert "'ghost'" in line
    assert "no_such_module_anywhere" in line


def test_a_hook_with_a_wrong_argument_name_is_refused_whole(make_dist, capsys):
    source = """
        from canfar_core import hookimpl

        @hookimpl
        def canfar_register_strategies(reg):
            reg("x", None)
    """
    make_dist("canfar-typo", "1", {"typo": "typo_plugin"}, {"typo_plugin": source})
    manager = loaded()
    (line,) = warnings(capsys.readouterr().err)
    assert "'typo'" in line
    assert "reg" in line
    assert "typo" not in {p.name for p in manager.plugins()}
    impls = manager.pm.hook.canfar_register_strategies.get_hookimpls()
    assert all(impl.plugin_name != "typo" for impl in impls)


def test_a_misspelt_hook_name_is_refused_with_the_known_names(make_dist, capsys):
    source = """
        from canfar_core import hookimpl

        @hookimpl
        def canfar_register_strategy(register):
            pass
    """
    make_dist("canfar-misspelt", "1", {"misspelt": "misspelt_plugin"}, {"misspelt_plugin": source})
    manager = loaded()
    (line,) = warnings(capsys.readouterr().err)
    assert "'canfar_register_strategy'" in line
    assert "canfar_register_strategies" in line
    assert "misspelt" not in {p.name for p in manager.plugins()}


@pytest.mark.parametrize(
    "value",
    ["bad", "canfar-bad", "Canfar_Bad", " other , bad ", "canfar.bad"],
)
def test_disable_plugins_by_entry_point_or_distribution_name(make_dist, capsys, value):
    make_dist(
        "canfar-bad", "1", {"bad": "bad_plugin2"}, {"bad_plugin2": "raise ImportError('x')\n"}
    )
    manager = loaded({"CANFAR_DISABLE_PLUGINS": value})
    assert capsys.readouterr().err == ""
    assert not manager.failures


def test_disabling_the_canfar_distribution_removes_every_builtin(capsys):
    manager = loaded({"CANFAR_DISABLE_PLUGINS": "canfar"})
    assert not any(p.builtin for p in manager.plugins())


def test_disable_plugins_reads_the_process_environment(make_dist, monkeypatch):
    make_dist(
        "canfar-good", "1", {"good": "good_plugin3"}, {"good_plugin3": GOOD.format(strategy="g")}
    )
    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", "good")
    assert "good" not in {p.name for p in get_manager().plugins()}
    assert disabled_names() == {"good"}


def test_two_distributions_with_one_entry_point_name_keep_the_first(make_dist, capsys):
    make_dist("canfar-one", "1", {"dup": "one_plugin"}, {"one_plugin": GOOD.format(strategy="one")})
    make_dist("canfar-two", "1", {"dup": "two_plugin"}, {"two_plugin": GOOD.format(strategy="two")})
    manager = loaded()
    (line,) = warnings(capsys.readouterr().err)
    assert "'dup'" in line
    assert "canfar-one" in line
    assert "canfar-two" in line
    assert "one" in manager.registry("strategies")
    assert "two" not in manager.registry("strategies")


def test_a_distribution_found_twice_on_sys_path_loads_once(make_dist, tmp_path, capsys):
    source = {"twice_plugin": GOOD.format(strategy="t")}
    make_dist("canfar-twice", "1", {"twice": "twice_plugin"}, source, folder=tmp_path / "a")
    make_dist("canfar-twice", "1", {"twice": "twice_plugin"}, source, folder=tmp_path / "b")
    manager = loaded()
    assert [p.name for p in manager.plugins()].count("twice") == 1
    assert capsys.readouterr().err == ""


def test_get_manager_is_loaded_once_until_reset(fresh_manager):
    first = get_manager()
    assert get_manager() is first
    reset_manager()
    assert get_manager() is not first


def test_the_canfar_plugin_fixture_registers_for_one_test(canfar_plugin):
    class Plugin:
        __version__ = "0.9"

        from canfar_core import hookimpl

        @hookimpl
        def canfar_register_strategies(self, register):
            register("fixture-only", lambda items, replica, count: iter(list(items)))

    name = canfar_plugin(Plugin(), name="fixture-plugin")
    manager = get_manager()
    info = {p.name: p for p in manager.plugins()}[name]
    assert (info.version, info.builtin) == ("0.9", False)
    assert "fixture-only" in manager.registry("strategies")


def test_the_fixture_plugin_of_the_previous_test_is_gone():
    assert "fixture-plugin" not in {p.name for p in get_manager().plugins()}
    assert "fixture-only" not in get_manager().registry("strategies")


def test_registering_one_plugin_object_twice_is_refused(fresh_manager):
    manager = PluginManager()

    class Plugin:
        pass

    plugin = Plugin()
    manager.register(plugin, name="once")
    with pytest.raises(ValueError, match=r"already registered"):
        manager.register(plugin, name="once")
