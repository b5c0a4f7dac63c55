"""What the documentation tests read from canfar's own code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("canfar", "canfar_core", "plugins/canfar_plugins")


def code_strings() -> list[str]:
    """Every string literal of canfar's code, the values of f-strings replaced by a NUL."""
    found: list[str] = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.JoinedStr):
                    found.append(
                        "".join(
                            part.value if isinstance(part, ast.Constant) else "\0"
                            for part in node.values
                        )
                    )
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.append(node.value)
    return found
