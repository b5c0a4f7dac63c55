"""The platform itself: ``canfar stats`` (cores and memory) and ``canfar images``."""

from __future__ import annotations

import click

from canfar_plugins.session_commands.common import (
    backend_option,
    dicts,
    field_label,
    json_option,
    one_format,
    quiet_option,
    session_for,
)
from canfar_plugins.session_commands.completion import complete_kinds

#: Rows of ``canfar stats``: label and field.
STATS_ROWS = (
    ("cores requested", "cores_requested"),
    ("cores available", "cores_available"),
    ("RAM requested (GB)", "ram_requested_gb"),
    ("RAM available (GB)", "ram_available_gb"),
    ("sessions running", "sessions_running"),
)


@click.command()
@backend_option
@json_option
@click.pass_context
def stats(ctx: click.Context, backend: str | None, as_json: bool) -> None:
    """Show cores and memory in use and available."""
    from canfar_core.models import to_dict
    from canfar_core.output import emit_json, table

    result = session_for(ctx, backend).stats()
    if as_json:
        emit_json(to_dict(result))
        return
    rows = [
        (label, f"{value:g}" if isinstance(value, float) else value)
        for label, attr in STATS_ROWS
        if (value := getattr(result, attr)) is not None
    ]
    rows.extend(
        (field_label(str(key)), value)
        for key, value in result.extra.items()
        if not isinstance(value, (dict, list))
    )
    table(rows, headers=["", "VALUE"])


@click.command()
@click.option(
    "-k",
    "--kind",
    shell_complete=complete_kinds,
    metavar="KIND",
    help="Only images built for this session kind.",
)
@backend_option
@json_option
@quiet_option
@click.pass_context
def images(
    ctx: click.Context, kind: str | None, backend: str | None, as_json: bool, quiet: bool
) -> None:
    """List the images sessions can run. Also: canfar image ls [--kind KIND]."""
    from canfar_core.output import echo, emit_json, info, table

    one_format(as_json, quiet)
    found = session_for(ctx, backend).images(kind=kind)
    if as_json:
        emit_json(dicts(found))
    elif quiet:
        for image in found:
            echo(image.id)
    elif found:
        table([(i.id, ", ".join(i.types)) for i in found], headers=["IMAGE", "KINDS"])
    else:
        info("No images" + (f" for {kind} sessions." if kind else "."))


@click.group("image", hidden=True)
def image() -> None:
    """Container images: canfar image ls (the same as canfar images)."""


def _image_ls() -> click.Command:
    import copy

    twin = copy.copy(images)
    twin.name = "ls"
    return twin


image.add_command(_image_ls(), "ls")

#: Where to report a problem or share an idea.
FEEDBACK = "support@canfar.net"


@click.command(hidden=True)
def feedback() -> None:
    """Where to report a problem or share an idea (reads no settings, sends nothing)."""
    from canfar_core.output import echo

    echo(f"Questions, problems and ideas: {FEEDBACK}")
    echo("Please include the output of: canfar version")
