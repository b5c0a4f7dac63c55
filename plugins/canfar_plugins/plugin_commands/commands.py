"""``canfar plugins install PACKAGE...`` and ``canfar plugins uninstall NAME...``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from canfar_core.errors import CanfarError, NotFound, ValidationError

#: How long an installer may run before canfar gives up on it.
TIMEOUT = 900


@click.command(short_help="Install plugin packages where canfar finds them.")
@click.argument("packages", nargs=-1, metavar="PACKAGE...")
@click.option(
    "-e",
    "--editable",
    "editable",
    multiple=True,
    metavar="PATH",
    help="Install the package in the folder PATH in development mode.",
)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the packages already installed.")
@click.option(
    "-r",
    "--requirement",
    "requirements",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Install the packages a requirements FILE lists.",
)
@click.option("--no-index", is_flag=True, help="Look at no package index (with paths or -f).")
@click.option(
    "-f",
    "--find-links",
    multiple=True,
    metavar="URL|PATH",
    help="Look for packages in this folder or page too.",
)
@click.option(
    "--no-build-isolation",
    is_flag=True,
    help="Build packages from source with the tools already installed.",
)
def install(
    packages: tuple[str, ...],
    editable: tuple[str, ...],
    upgrade: bool,
    requirements: tuple[str, ...],
    no_index: bool,
    find_links: tuple[str, ...],
    no_build_isolation: bool,
) -> None:
    """Install plugin packages into the environment canfar runs from.

    PACKAGE is what pip accepts: a name (canfar-slurm), a name with a version
    (canfar-slurm>=0.2), a folder or a wheel file. Under pipx this is
    `pipx inject`; otherwise the pip of canfar's own Python installs them. The
    plugins they add are printed with their hooks.
    """
    from canfar_plugins.plugin_commands.installer import plugin_installer

    options = (
        *(["--no-index"] if no_index else []),
        *(word for link in find_links for word in ("--find-links", link)),
        *(["--no-build-isolation"] if no_build_isolation else []),
    )
    chosen = plugin_installer(tuple(options))
    if any(not package.strip() for package in (*packages, *editable)):
        raise ValidationError("a package to install is required, not an empty one")
    listed = [*packages, *_requirement_lines(requirements)]
    if not listed and not editable:
        raise click.UsageError("name at least one PACKAGE, -e PATH or -r FILE")
    before = _found()
    if listed:
        _run(chosen.argv(*listed, upgrade=upgrade), f"{chosen.name} could not install")
    if editable:
        _run(
            chosen.argv(*editable, editable=True, upgrade=upgrade),
            f"{chosen.name} could not install",
        )
    _report_added(before, _found_after())


@click.command(short_help="Remove plugin packages installed with canfar plugins install.")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
def uninstall(names: tuple[str, ...]) -> None:
    """Remove plugin packages from the environment canfar runs from.

    NAME is the package's name as pip knows it (canfar-slurm) or a plugin's name
    as `canfar plugins` shows it (slurm). The built-in plugins cannot be removed:
    switch one off with CANFAR_DISABLE_PLUGINS=NAME.
    """
    from canfar_core.manager import get_manager
    from canfar_plugins.plugin_commands.installer import plugin_installer

    found = get_manager().statuses()
    distributions = [_distribution_of(name, found) for name in names]
    chosen = plugin_installer()
    _run(chosen.uninstall_argv(*dict.fromkeys(distributions)), f"{chosen.name} could not remove")
    for distribution in dict.fromkeys(distributions):
        gone = [p.name for p in found if _same(p.distribution, distribution)]
        plugins = ", ".join(f"'{name}'" for name in gone) if gone else "no plugin"
        click.echo(f"Removed {distribution} ({plugins}).")


def _distribution_of(name: str, found: list[Any]) -> str:
    """The pip name of what ``name`` names: a plugin (by its name) or a distribution."""
    from importlib.metadata import PackageNotFoundError, distribution

    if not name.strip():
        raise ValidationError("a plugin or package name is required, not an empty one")
    plugin = next((p for p in found if p.name == name), None)
    if plugin is None:
        plugin = next((p for p in found if _same(p.name, name)), None)
    by_distribution = next((p for p in found if _same(p.distribution, name)), None)
    if (plugin and plugin.builtin) or (by_distribution and by_distribution.builtin):
        what = plugin.name if plugin else name
        raise ValidationError(
            f"'{what}' is built into canfar and cannot be uninstalled; "
            f"switch it off with: CANFAR_DISABLE_PLUGINS={what}"
        )
    if plugin is not None and plugin.distribution:
        return str(plugin.distribution)
    try:
        return str(distribution(name).metadata["Name"])
    except (PackageNotFoundError, ValueError):  # ValueError: not a distribution's name at all
        raise NotFound(
            f"no plugin or package named '{name}' is installed beside canfar "
            "(`canfar plugins` lists the plugins)"
        ) from None


def _same(a: str | None, b: str | None) -> bool:
    def norm(text: str) -> str:
        return text.strip().lower().replace("_", "-").replace(".", "-")

    return a is not None and b is not None and norm(a) == norm(b)


def _requirement_lines(files: tuple[str, ...]) -> list[str]:
    """The requirements of the files, one per line, comments and blank lines left out.

    Read here, not by the installer, so that pipx (whose ``inject`` takes package names) and
    pip take the same list.
    """
    lines: list[str] = []
    for file in files:
        for raw in Path(file).read_text(encoding="utf-8").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                raise ValidationError(
                    f"{file}: '{line}' is a pip option; only package lines are read "
                    "(give options to canfar plugins install itself)"
                )
            lines.append(line)
    return lines


def _run(argv: list[str], failure: str) -> None:
    """Run the installer; its output is shown only when it fails."""
    import logging

    logging.getLogger("canfar.plugins").debug("running %s", argv)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CanfarError(f"{failure}: {exc}") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        if output:
            click.echo(output, err=True)
        last = next(
            (line for line in reversed(output.splitlines()) if line.lower().startswith("error")),
            f"exit status {done.returncode}",
        )
        raise CanfarError(f"{failure}: {last.strip()}")


def _found() -> dict[str, tuple[str | None, str | None]]:
    """The plugins this process found: name -> (distribution, version)."""
    from canfar_core.manager import get_manager

    return {p.name: (p.distribution, p.version) for p in get_manager().statuses()}


def _found_after() -> list[dict[str, Any]]:
    """The plugins a fresh canfar finds now, as ``canfar plugins --json`` lists them."""
    import json

    code = "import sys; from canfar_core.cli import main; sys.exit(main(['plugins', '--json']))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        listed = json.loads(done.stdout)
    except ValueError:
        raise CanfarError(
            "the packages were installed, but canfar could not list its plugins afterwards: "
            f"{done.stderr.strip() or 'no output'}"
        ) from None
    return [item for item in listed if isinstance(item, dict)]


def _report_added(
    before: dict[str, tuple[str | None, str | None]], after: list[dict[str, Any]]
) -> None:
    added = [
        item
        for item in after
        if not item.get("builtin") and before.get(item["name"], (None, None))[1] != item["version"]
    ]
    if not added:
        click.echo("Installed; no plugin was added or changed.")
        return
    for item in added:
        version = f" {item['version']}" if item.get("version") else ""
        if item.get("status") == "loaded":
            hooks = ", ".join(item.get("hooks") or []) or "no hooks"
            click.echo(f"Added plugin '{item['name']}'{version}: {hooks}")
        else:
            status, reason = item.get("status"), item.get("reason")
            click.echo(f"Added plugin '{item['name']}'{version}, {status}: {reason}")
