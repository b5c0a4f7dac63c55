"""The options plugins add to ``canfar create`` (``canfar_register_create_options``).

Each becomes ``--NAME`` (underscores as dashes) in a help section named after its plugin. A
value the user gives is kept in ``ctx.meta`` and reaches the request as ``spec.options[NAME]``;
one left out gets the option's ``default`` (set by the Session for Python callers too), or
is not sent when it has none, so the backend's own default applies. A name ``create`` already has is
reported once, naming both, and skipped.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from click.core import ParameterSource

#: Where the given values wait for the command: ``ctx.meta[META][name]``.
META = "canfar.create_options"


class PluginOption(click.Option):
    """A create option of a plugin: remembers its owner and its name in ``spec.options``."""

    def __init__(self, name: str, owner: str, option: Any) -> None:
        flag = "--" + name.replace("_", "-")
        kind = option.type if option.type in (str, int, float, bool) else str
        super().__init__(
            [flag, f"plugin_option__{name}"],
            help=option.help,
            metavar=name.upper(),
            default=option.default,
            show_default=option.default is not None,
            is_flag=kind is bool,
            type=None if kind is bool else kind,
            expose_value=False,
            callback=self._keep,
        )
        self.option_name = name
        self.owner = owner

    def _keep(self, ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if ctx.get_parameter_source(param.name or "") not in (ParameterSource.DEFAULT, None):
            ctx.meta.setdefault(META, {})[self.option_name] = value


def add_plugin_options(command: click.Command) -> None:
    """Give ``command`` the registered create options, afresh (those of an earlier call go)."""
    from canfar_core.manager import get_manager

    command.params[:] = [p for p in command.params if not isinstance(p, PluginOption)]
    taken = {name for p in command.params for name in (p.name, *p.opts, *p.secondary_opts)}
    registry = get_manager().registry("create_options")
    for name in registry:
        option = PluginOption(name, registry.owner(name), registry.get(name))
        if option.opts[0] in taken:
            sys.stderr.write(
                f"canfar: warning: plugin '{option.owner}' could not add the create option "
                f"'{name}': canfar's create has {option.opts[0]} already\n"
            )
            continue
        command.params.append(option)


def given_options(ctx: click.Context) -> dict[str, Any]:
    """The plugins' create options the user gave, by name."""
    return dict(ctx.meta.get(META, {}))


def format_sections(command: click.Command, ctx: click.Context, formatter: Any) -> None:
    """The options' help: canfar's own, then one section per plugin."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            owner = param.owner if isinstance(param, PluginOption) else ""
            sections.setdefault(owner, []).append(record)
    for owner, records in sections.items():
        with formatter.section(f"Options of plugin {owner}" if owner else "Options"):
            formatter.write_dl(records)
