"""How commands print: data on stdout (a table, bare ids, or one machine-readable document),
messages on stderr.

Every machine-readable document, whether asked for with ``--json`` or ``-o json|yaml``, goes
through :func:`dumps`: JSON with a 2-space indent and non-ASCII text as it is (UTF-8), or the
same data in a format a plugin adds (``canfar_register_output_formats``; the built-in
``yaml_output`` plugin writes YAML). ``tabulate`` and ``json`` are imported only when used.

Under ``-o FORMAT`` an error is one ``{code, message, hint}`` object on stderr, in that format
(:func:`report_error`), and stdout stays empty; the code is the error's
:attr:`~canfar_core.errors.CanfarError.code`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click


def use_color() -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def style(text: str, **styles: Any) -> str:
    return click.style(text, **styles) if use_color() else text


def printable(text: str) -> str:
    """``text`` kept on one line: control characters (a terminal escape, a line break in a bad
    value or sent by a server) are shown escaped, never acted on by the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, nl=nl, color=use_color())


def info(message: str) -> None:
    """A message for the person, on stderr."""
    click.echo(message, err=True, color=False)


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True, color=False)


#: The messages :func:`warn_once` has printed during this command.
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Warn the person (``Warning: message`` on stderr) once per command however often it is
    given, and not at all when the command was given ``-q``/``--quiet``: the door for
    plugins' warnings."""
    if message in _warned or _quiet():
        return
    _warned.add(message)
    warn(message)


def forget_warnings() -> None:
    """Let :func:`warn_once` print every message again (each command starts afresh)."""
    _warned.clear()


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("quiet"):
            return True
        ctx = ctx.parent
    return False


def formats() -> list[str]:
    """The machine formats: ``json``, then those plugins add."""
    from canfar_core.manager import get_manager

    return ["json", *get_manager().registry("output_formats").names()]


def dumps(data: Any, fmt: str = "json") -> str:
    """``data`` as a document in ``fmt``. A plugin's writer is given what JSON would hold
    (values JSON cannot hold written as text), so every format carries the same data."""
    import json

    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    if fmt == "json":
        return text + "\n"
    from canfar_core.manager import get_manager

    write = get_manager().registry("output_formats").get(fmt)
    return str(write(json.loads(text)))


def emit(data: Any, fmt: str = "json") -> None:
    """Print ``data`` on stdout as one document in ``fmt``."""
    click.echo(dumps(data, fmt), nl=False)


#: The machine format this run prints in (``-o FORMAT``), once known; ``None``: for people.
_format: str | None = None


def machine_format() -> str | None:
    return _format


def set_machine_format(fmt: str | None) -> None:
    global _format
    _format = fmt.lower() if fmt else None


def format_in_argv(args: list[str]) -> str | None:
    """The ``-o``/``--output`` format the command line asks for, read before parsing so that a
    usage error is already reported in that format. Only a known format counts (``logs -o DIR``
    names a folder), and nothing after ``--`` (the user's command's own flags)."""
    own = args[: args.index("--")] if "--" in args else args
    for index, word in enumerate(own):
        value = None
        if word in ("-o", "--output") and index + 1 < len(own):
            value = own[index + 1]
        elif word.startswith("--output="):
            value = word.split("=", 1)[1]
        elif word.startswith("-o") and not word.startswith("--") and len(word) > 2:
            value = word[2:].lstrip("=")
        if value is not None and value.lower() in formats():
            return value.lower()
    return None


def report_error(exc: BaseException, message: str | None = None) -> None:
    """Write ``exc`` on stderr as one ``{code, message, hint}`` object, in the run's format."""
    from canfar_core.errors import CanfarError

    code, hint = "internal.error", getattr(exc, "hint", None)
    if isinstance(exc, CanfarError):
        code, message = exc.code, message or exc.message
    elif isinstance(exc, click.UsageError):
        code, message = "command.validation_failed", message or exc.format_message()
        if hint is None and exc.ctx is not None:
            hint = f"see: {exc.ctx.command_path} --help"
    elif isinstance(exc, (KeyboardInterrupt, click.Abort)):
        code, message = "command.cancelled", message or "interrupted"
    elif isinstance(exc, click.ClickException):
        message = message or exc.format_message()
    else:
        message = message or f"unexpected {type(exc).__name__}: {exc}".strip().rstrip(":")
    record = {"code": code, "message": message, "hint": hint}
    if getattr(exc, "details", None) is not None:
        record["details"] = exc.details  # type: ignore[attr-defined]
    fmt = _format or "json"
    if fmt == "json":  # one line
        import json

        text = json.dumps(record, ensure_ascii=False) + "\n"
    else:
        text = dumps(record, fmt)
    sys.stderr.write(text)
    sys.stderr.flush()


def emit_json(data: Any) -> None:
    """Print ``data`` on stdout as JSON (what ``--json`` prints)."""
    emit(data, "json")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print rows as a table that fits the terminal: long cells are cut with an ellipsis."""
    import shutil  # here, not at the top: it costs every command ~3 ms (bz2, lzma)

    from tabulate import tabulate

    materialised = [["" if cell is None else printable(str(cell)) for cell in row] for row in rows]
    width = shutil.get_terminal_size((120, 24)).columns
    if sys.stdout.isatty() and materialised:
        materialised = _fit(materialised, headers, width)
    echo(tabulate(materialised, headers=list(headers), tablefmt="simple", disable_numparse=True))


def _fit(rows: list[list[str]], headers: Sequence[str], width: int) -> list[list[str]]:
    columns = len(headers)
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(columns)]
    budget = width - 2 * (columns - 1)
    while sum(widths) > budget and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return [
        [
            cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            for i, cell in enumerate(row)
        ]
        for row in rows
    ]
