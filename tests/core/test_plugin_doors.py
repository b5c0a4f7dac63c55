"""The two doors the plugin guide gives separately installed plugins: their own settings
(``plugins.NAME.*`` and ``CANFAR_<NAME>_<KEY>``) and a warning to the user (once, on stderr,
silenced by ``-q``)."""

from __future__ import annotations

import click

from canfar_core import hookimpl
from canfar_core.cli import main
from canfar_core.config import plugin_settings


def test_a_plugins_settings_come_from_the_config_and_its_variables_win(canfar_home, monkeypatch):
    assert main(["config", "set", "plugins.my-site.project", "rrg-1"]) == 0
    assert main(["config", "set", "plugins.my-site.limit", "4"]) == 0
    assert plugin_settings("my-site") == {"project": "rrg-1", "limit": 4}
    monkeypatch.setenv("CANFAR_MY_SITE_PROJECT", "rrg-2")
    monkeypatch.setenv("CANFAR_MY_SITE_NEW_KEY", "x")
    monkeypatch.setenv("CANFAR_MY_SITEWIDE", "not mine")
    assert plugin_settings("my-site") == {"project": "rrg-2", "limit": 4, "new_key": "x"}
    assert plugin_settings("other") == {}


class Warner:
    @hookimpl
    def canfar_register_commands(self, cli):
        @cli.command("warner")
        @click.option("-q", "--quiet", is_flag=True)
        def warner(quiet):
            from canfar_core.output import warn_once

            for _ in range(3):
                warn_once("the cluster is busy")
            warn_once("and full")
            click.echo("done")


def test_a_plugin_warning_is_shown_once_per_command_in_canfars_style(
    canfar_home, canfar_plugin, capsys
):
    canfar_plugin(Warner(), name="warner")
    assert main(["warner"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("done\n", "Warning: the cluster is busy\nWarning: and full\n")
    assert main(["warner"]) == 0  # the next command warns again
    assert capsys.readouterr().err == "Warning: the cluster is busy\nWarning: and full\n"


def test_a_plugin_warning_is_silenced_by_quiet(canfar_home, canfar_plugin, capsys):
    canfar_plugin(Warner(), name="warner")
    assert main(["warner", "-q"]) == 0
    assert capsys.readouterr() == ("done\n", "")
