"""Options plugins add to ``canfar create`` (``canfar_register_create_options``): shown in a
help section named after the plugin, their value in ``spec.options`` when
``canfar_prepare_session`` runs and at the backend, the same from Python with ``options=``; a
name taken twice reported once and skipped; an option the backend does not use a warning."""

from __future__ import annotations

import pytest

from canfar.sessions import Session
from canfar_core import hookimpl
from canfar_core.backend import Backend
from canfar_core.cli import main
from canfar_core.models import CreateOption, LaunchResult, SessionSpec


class Recorder(Backend):
    """A backend that keeps what it was asked to launch; it uses ``project`` and ``nodes``."""

    name = "recorder"
    option_names = ("project", "nodes", "exclusive")
    launched: list[dict[str, object]] = []

    def create(self, spec: SessionSpec) -> LaunchResult:
        Recorder.launched.append(dict(spec.options))
        return LaunchResult(ids=["r1"])


class Site:
    """A plugin adding three options, and looking at them before the launch."""

    seen: list[dict[str, object]] = []

    @hookimpl
    def canfar_register_backends(self, register):
        register("recorder", Recorder)

    @hookimpl
    def canfar_register_create_options(self, register):
        register("project", CreateOption(help="The allocation to charge."))
        register("nodes", CreateOption(help="How many nodes.", type=int, default=1))
        register("exclusive", CreateOption(help="Nodes of one's own.", type=bool))

    @hookimpl
    def canfar_prepare_session(self, spec):
        Site.seen.append(dict(spec.options))


@pytest.fixture
def site(canfar_home, canfar_plugin):
    Recorder.launched, Site.seen = [], []
    canfar_plugin(Site(), name="site")


def create(*extra: str) -> int:
    return main(["create", "headless", "img", "--backend", "recorder", *extra, "--", "true"])


def test_each_option_is_in_a_help_section_named_after_its_plugin(site, capsys):
    assert main(["create", "--help"]) == 0
    out = capsys.readouterr().out
    section = out.split("Options of plugin site:", 1)[1]
    assert "--project PROJECT  The allocation to charge." in section
    assert "--nodes NODES" in section
    assert "[default: 1]" in section
    assert "--exclusive" in section
    assert "--project" not in out.split("Options of plugin site:", 1)[0]


def test_the_value_is_in_spec_options_at_prepare_session_and_at_the_backend(site, capsys):
    assert create("--project", "rrg-1", "--nodes", "4", "--exclusive") == 0, capsys.readouterr()
    assert Site.seen == [{"project": "rrg-1", "nodes": 4, "exclusive": True}]
    assert Recorder.launched == [{"project": "rrg-1", "nodes": 4, "exclusive": True}]


def test_an_option_left_out_gets_its_default_and_one_without_is_not_sent(site):
    assert create() == 0
    assert Site.seen == [{"nodes": 1}]  # the default the help shows
    assert Recorder.launched == [{"nodes": 1}]


def test_a_value_of_the_wrong_type_is_a_usage_error(site, capsys):
    assert create("--nodes", "many") == 2
    assert "'--nodes': 'many' is not a valid integer" in capsys.readouterr().err


def test_python_gives_the_same_options(site):
    Session(backend="recorder").create(image="img", cmd="true", options={"project": "rrg-2"})
    assert Site.seen == [{"project": "rrg-2", "nodes": 1}]
    assert Recorder.launched == [{"project": "rrg-2", "nodes": 1}]


def test_an_option_the_backend_does_not_use_is_a_warning(site, capsys):
    command = ["create", "headless", "img", "--backend", "local", "--project", "x", "--dry-run"]
    assert main([*command, "--", "true"]) == 0
    err = capsys.readouterr().err
    assert err.count("Warning: the option 'project' is not used by the local backend") == 1
    assert "'nodes'" not in err  # a default nobody asked for is not the user's mistake


def test_an_unknown_keyword_is_still_a_type_error(site):
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Session(backend="recorder").create(image="img", cmd="true", colour="red")


class Taken:
    @hookimpl
    def canfar_register_create_options(self, register):
        register("project", CreateOption(help="Mine."))  # the site plugin has it
        register("name", CreateOption(help="Clashes with --name."))  # canfar's own
        register("budget", CreateOption(help="Fine."))


def test_a_name_taken_is_reported_once_naming_both_and_skipped(site, canfar_plugin, capsys):
    canfar_plugin(Taken(), name="taken")
    assert create("--project", "rrg-3", "--name", "job") == 0
    err = capsys.readouterr().err
    assert err.count("create option 'project'") == 1
    assert (
        "canfar: warning: plugin 'taken' could not add the create option 'project': "
        "plugin 'site' has it already"
    ) in err
    assert (
        "canfar: warning: plugin 'taken' could not add the create option 'name': "
        "canfar's create has --name already"
    ) in err
    assert Site.seen == [{"project": "rrg-3", "nodes": 1}]  # the first owner's option works
    assert main(["create", "--help"]) == 0
    assert "--budget BUDGET" in capsys.readouterr().out
