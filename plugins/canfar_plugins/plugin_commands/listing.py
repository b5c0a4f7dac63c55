"""``canfar plugins``: every plugin found, loaded, disabled or failed, with the reason."""

from __future__ import annotations

import click


@click.group(
    invoke_without_command=True,
    subcommand_metavar="[COMMAND]",
    short_help="List, install and remove plugins.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print as JSON: name, version, hooks, builtin, status, reason.",
)
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List the plugins: each loaded one with the hooks it implements, and those disabled
    (CANFAR_DISABLE_PLUGINS, CANFAR_LOAD_PLUGINS) or failed, with the reason."""
    if ctx.invoked_subcommand is not None:
        return
    from canfar_core.manager import LOADED, get_manager
    from canfar_core.output import emit_json, table

    found = get_manager().statuses()
    if as_json:
        emit_json(
            [
                {
                    "name": p.name,
                    "version": p.version,
                    "hooks": p.hooks,
                    "builtin": p.builtin,
                    "status": p.status,
                    "reason": p.reason,
                }
                for p in found
            ]
        )
        return
    table(
        [
            (
                p.name,
                p.version or "-",
                "yes" if p.builtin else "no",
                p.status if p.status == LOADED else f"{p.status}: {p.reason}",
                ", ".join(p.hooks) or "-",
            )
            for p in found
        ],
        headers=["NAME", "VERSION", "BUILTIN", "STATUS", "HOOKS"],
    )
