"""A griffe extension for the API reference: the docstrings are written with reStructuredText
inline markup (``literal``, :class:`~pkg.Name`, ``Example::`` blocks, ``>>>`` sessions), which
Markdown would show as-is or misread; this turns it into the Markdown equivalents before
mkdocstrings renders the docstrings.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|data|func|meth|mod|attr|exc|obj):`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _fence_sessions(text: str) -> str:
    """Fence each run of ``>>>``/``...`` lines as a Python console block."""
    out: list[str] = []
    in_session = False
    for line in text.splitlines():
        stripped = line.lstrip()
        prompt = stripped.startswith((">>> ", "... ")) or stripped in (">>>", "...")
        if prompt and not in_session:
            out.extend(["", "```pycon"])
            in_session = True
        elif not prompt and in_session:
            out.extend(["```", ""])
            in_session = False
        out.append(stripped if prompt else line)
    if in_session:
        out.append("```")
    return "\n".join(out)


def _fence_literal_blocks(text: str) -> str:
    """Turn each ``Paragraph::`` and the indented block after it into a fenced Python block."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::"):
            out.append(line)
            continue
        out.append(line.rstrip()[:-1])
        base = len(line) - len(line.lstrip())
        block: list[str] = []
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > base
        ):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            block.pop()
        code = textwrap.dedent("\n".join(block)).strip("\n")
        out += ["", "```python", *code.splitlines(), "```", ""]
    return "\n".join(out)


def to_markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText markup turned into Markdown."""
    text = _ROLE.sub(_role, text)
    text = _LITERAL.sub(r"`\1`", text)
    return _fence_sessions(_fence_literal_blocks(text))


class RestructuredTextRoles(griffe.Extension):
    """Rewrite every docstring once the object tree is complete; show a method a class takes
    from elsewhere (``run = run``, a function imported into the module) as that function."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        for name, member in list(cls.members.items()):
            value = getattr(member, "value", None)
            if not member.is_attribute or str(value) != name:
                continue
            target = cls.module.imports.get(name)
            if target:
                cls.set_member(name, griffe.Alias(name, target, parent=cls))

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
