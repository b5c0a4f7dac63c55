"""mkdocs hooks for the canfar site.

- The command-line reference (cli.md) documents the ``canfar`` group as users get it: with the
  commands of every built-in plugin added (they are added at run time, so the group is built
  before any page is rendered).
- The build fails when a command of that group has no entry in the rendered reference.
"""

from __future__ import annotations

import html
import re
from typing import Any

import click
from mkdocs.exceptions import PluginError

CLI_PAGE = "cli.md"


def _command_paths(command: click.Command, path: str) -> list[str]:
    paths = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            paths.extend(_command_paths(sub, f"{path} {name}"))
    return paths


def _slug(command_path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", command_path.lower()).strip("-")


def on_config(config: Any, **kwargs: Any) -> Any:
    from canfar_core.cli import build_cli

    build_cli()
    return config


def on_page_content(html_text: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != CLI_PAGE:
        return html_text
    from canfar_core.cli import build_cli

    anchors = set(re.findall(r'id="([^"]+)"', html.unescape(html_text)))
    missing = [p for p in _command_paths(build_cli(), "canfar") if _slug(p) not in anchors]
    if missing:
        raise PluginError(f"{CLI_PAGE} has no entry for: {', '.join(missing)}")
    return html_text
