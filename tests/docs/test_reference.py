"""The reference pages leave nothing out: every command of ``canfar`` (those of the built-in
plugins included) is covered by a directive of docs/cli.md, and every hook has its section in
docs/plugins.md (tests/ecosystem/test_plugin_docs.py checks the hook sections themselves)."""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
from pathlib import Path

import click
import pytest

from canfar_core import hookspecs
from canfar_core.cli import CORE, CanfarGroup, build_cli
from canfar_core.manager import get_manager

DOCS = Path(__file__).resolve().parents[2] / "docs"
DIRECTIVE = re.compile(r"^::: mkdocs-click\n((?:[ \t]+:\w+:.*\n?)+)", re.M)
TRUE = ("true", "yes", "1")


def directives(text: str) -> list[dict[str, str]]:
    """The options of each ``::: mkdocs-click`` block of a page."""
    found = []
    for match in DIRECTIVE.finditer(text):
        options = dict(re.findall(r":(\w+):[ \t]*(.*)", match.group(1)))
        found.append({key: value.strip() for key, value in options.items()})
    return found


def _paths(command: click.Command, path: str, show_hidden: bool) -> set[str]:
    """The command paths mkdocs-click renders for ``command``: itself and, for a group, every
    subcommand, recursively; hidden ones only with ``:show_hidden:``."""
    if command.hidden and not show_hidden:
        return set()
    paths = {path}
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            paths |= _paths(sub, f"{path} {name}", show_hidden)
    return paths


def _hooks() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", DOCS / "mkdocs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented(text: str) -> set[str]:
    """Every command path the page ``text`` documents: those its directives render and, where it
    has the marker of the generated section, every hidden command with its subcommands."""
    group = build_cli()  # the plugins' commands are added to the group at run time
    paths: set[str] = set()
    hooks = _hooks()
    if hooks.HIDDEN_MARKER in text:
        for top, command, _ in hooks.hidden_commands(group):
            paths |= {path for path, _ in hooks.walk(command, top)}
    for options in directives(text):
        command = getattr(importlib.import_module(options["module"]), options["command"])
        prog_name = options.get("prog_name") or command.name
        paths |= _paths(command, prog_name, options.get("show_hidden", "").lower() in TRUE)
    return paths


def canfar_commands(group: CanfarGroup) -> set[str]:
    """Every command path of the ``canfar`` group that canfar itself provides: the core's and the
    built-in plugins', hidden ones included."""
    builtin = {p.name for p in get_manager().plugins() if p.builtin}
    paths = {"canfar"}
    for name, command in group.commands.items():
        if group.owners.get(name, CORE) == CORE or group.owners[name] in builtin:
            paths |= _paths(command, f"canfar {name}", show_hidden=True)
    return paths


def test_the_directive_parser_reads_every_option() -> None:
    page = "# CLI\n\n::: mkdocs-click\n    :module: m\n    :command: cli\n    :depth: 1\n\ntext\n"
    assert directives(page) == [{"module": "m", "command": "cli", "depth": "1"}]


def test_every_canfar_command_is_in_the_cli_reference() -> None:
    missing = canfar_commands(build_cli()) - documented((DOCS / "cli.md").read_text("utf-8"))
    assert not missing, f"docs/cli.md has no entry for: {sorted(missing)}"


def test_the_commands_of_the_built_in_plugins_are_checked() -> None:
    checked = canfar_commands(build_cli())
    assert {"canfar config show", "canfar create", "canfar auth registry set"} <= checked


def test_a_command_outside_the_reference_is_reported() -> None:
    """The check is not vacuous: what a page's directives do not render is missing."""
    page = "::: mkdocs-click\n    :module: canfar_plugins.config_commands\n    :command: config\n"
    page += "    :prog_name: canfar config\n"
    assert "canfar config set" in documented(page)
    missing = canfar_commands(build_cli()) - documented(page)
    assert {"canfar create", "canfar auth login"} <= missing
    assert "canfar config set" not in missing
    hidden = click.Group("tools", commands=[click.Command("secret", hidden=True)])
    assert _paths(hidden, "canfar tools", show_hidden=False) == {"canfar tools"}
    assert _paths(hidden, "canfar tools", show_hidden=True) == {
        "canfar tools",
        "canfar tools secret",
    }


def test_hidden_commands_are_found_with_what_they_alias() -> None:
    hooks = _hooks()
    shown = click.Command("status", callback=lambda: None)
    alias = click.Command("show", callback=shown.callback, hidden=True)
    extra = click.Group("tools", commands=[click.Command("run")], hidden=True)
    group = click.Group("canfar", commands=[click.Group("auth", commands=[shown, alias]), extra])
    assert hooks.hidden_commands(group) == [
        ("canfar auth show", alias, "canfar auth status"),
        ("canfar tools", extra, None),
    ]
    page = "::: mkdocs-click\n    :module: canfar_plugins.config_commands\n    :command: config\n"
    assert "canfar tools run" not in documented(page)


@pytest.mark.parametrize("name", hookspecs.hook_names())
def test_every_hook_is_in_the_hook_reference(name: str) -> None:
    assert re.search(rf"^### `{name}`$", (DOCS / "plugins.md").read_text("utf-8"), re.M)
