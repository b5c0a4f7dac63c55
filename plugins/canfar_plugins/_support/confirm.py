"""A yes/no question answered on standard input, as ``click.confirm`` reads it (a terminal is
not required, so ``echo y | canfar delete ID`` answers it), with the end of the input told
apart from a no: the commands that delete then name ``--force``."""

from __future__ import annotations

import sys

import click


def ask_yes_no(question: str) -> bool | None:
    """Ask on stderr and read the answer from standard input: True for y/yes, False for n/no
    or an empty line, None at the end of the input; any other answer asks again."""
    while True:
        click.echo(f"{question} [y/N]: ", nl=False, err=True)
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            click.echo(err=True)
            return None
        word = line.strip().lower()
        if word in ("y", "yes"):
            return True
        if word in ("", "n", "no"):
            return False
        click.echo("Error: answer y or n.", err=True)
