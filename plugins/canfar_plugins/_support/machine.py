"""Machine mode on a command: ``-o json|yaml`` (and ``--json``), the public client's option.

Under ``-o`` an error is reported as one ``{code, message, hint}`` object on stderr with stdout
left empty (the core does that: :func:`canfar_core.output.report_error`); ``--json`` prints the
same document as ``-o json`` but its errors stay ``Error:`` lines, as they always were.
Documents are written by :func:`canfar_core.output.dumps`, the one encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from canfar_core import output
from canfar_core.output import machine_format as current_format
from canfar_core.output import set_machine_format as set_format

F = TypeVar("F", bound=Callable[..., Any])


def emit(data: Any, fmt: str | None = None) -> None:
    """Print ``data`` on stdout in ``fmt`` (default: the run's format, else JSON)."""
    output.emit(data, (fmt or current_format() or "json").lower())


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in output.formats():
        known = ", ".join(f"'{name}'" for name in output.formats())
        raise click.BadParameter(f"{value!r} is not one of {known}.", ctx, param)
    set_format(value)
    return value.lower()


def output_option(func: F) -> F:
    """``-o/--output json|yaml`` and ``--json`` (the same document as ``-o json``; errors stay
    ``Error:`` lines), passed to the command as ``output`` (``None``: for people)."""

    def json_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and ctx.params.get("output") is None:
            ctx.params["output"] = "json"

    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=json_flag,
        help="The same as -o json.",
    )(func)
    return click.option(
        "-o",
        "--output",
        metavar="[json|yaml]",
        is_eager=True,
        callback=_remember,
        help="Print machine output: json or yaml (or a format a plugin adds).",
    )(func)


__all__ = ["current_format", "emit", "output_option", "set_format"]
