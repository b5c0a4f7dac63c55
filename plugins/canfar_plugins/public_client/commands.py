"""``canfar version``, as the public client has it: canfar's version, Python's and the
third-party plugins'."""

from __future__ import annotations

import click


@click.command(short_help="Show the versions of canfar, Python and plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def version(as_json: bool) -> None:
    """Show the version of canfar, Python and the third-party plugins."""
    import platform

    from canfar_core import __version__
    from canfar_core.manager import get_manager
    from canfar_core.output import echo, emit_json

    plugins = {p.name: p.version for p in get_manager().plugins() if not p.builtin}
    data = {"canfar": __version__, "python": platform.python_version(), "plugins": plugins}
    if as_json:
        emit_json(data)
        return
    echo(f"canfar {__version__} (Python {data['python']})")
    for name, plugin_version in plugins.items():
        echo(f"  plugin {name} {plugin_version or ''}".rstrip())
