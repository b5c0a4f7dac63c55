"""The core stays the contract: its size, what it imports, and no import circle inside it.

The numbers are the budget of docs/architecture.md: ``canfar_core`` holds the hook specs, the
plugin manager, the records, errors and contracts, sessions, contexts, configuration,
distribution and the CLI shell; anything else belongs to a plugin or the ``canfar`` facade.
Lines are counted as ``wc -l`` counts them; the pytest fixtures shipped for plugin authors
(the package ``canfar_core/testing``) are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.core.test_layering import imported_modules  # every import, TYPE_CHECKING too

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "canfar_core"
MAX_CORE_LINES = 4000
MAX_SESSIONS_LINES = 600
#: Libraries the core never imports: the public client's formats and types belong to plugins.
FOREIGN = ("yaml", "pydantic")


def core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "testing" not in p.relative_to(CORE).parts)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def executed_imports(path: Path, inside_functions: bool = True) -> set[str]:
    """The modules a file imports when it runs: at module level and, unless
    ``inside_functions`` is false, inside functions too (a circle closed by an import inside a
    function is still a circle: each module needs the other). Never those under
    ``if TYPE_CHECKING:``, which does not run."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            type_checking = isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            if type_checking and child in node.body:  # type: ignore[attr-defined]
                continue
            if not inside_functions and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def core_graph(inside_functions: bool = True) -> dict[str, set[str]]:
    """Which core module imports which, by module name (``contexts`` -> {``config``, ...})."""
    names = {p.stem for p in core_files()}
    graph = {}
    for path in core_files():
        targets = set()
        for module in executed_imports(path, inside_functions):
            parts = module.split(".")
            if parts[0] == "canfar_core" and len(parts) > 1 and parts[1] in names:
                targets.add(parts[1])
        graph[path.stem] = targets - {path.stem}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle, each once, starting from its smallest name."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target == start:
                found.append([*path, start])
            elif target not in path and target > start:
                walk(start, target, [*path, target])

    for start in sorted(graph):
        walk(start, start, [start])
    return found


def test_the_core_is_at_most_4000_lines():
    total = sum(lines(p) for p in core_files())
    biggest = sorted(((lines(p), p.name) for p in core_files()), reverse=True)[:5]
    assert total <= MAX_CORE_LINES, f"canfar_core has {total} lines; the biggest: {biggest}"


def test_the_sessions_module_is_at_most_600_lines():
    assert lines(CORE / "sessions.py") <= MAX_SESSIONS_LINES


@pytest.mark.parametrize("library", FOREIGN)
def test_the_core_never_imports(library):
    offending = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in core_files()
        for module in executed_imports(path) | imported_modules(path)
        if module.split(".")[0] == library
    )
    assert not offending


def test_no_import_circle_among_core_modules():
    assert circles(core_graph()) == []


def test_no_import_circle_among_core_modules_at_import_time():
    """Imports at module level alone: importing any core module first always works."""
    assert circles(core_graph(inside_functions=False)) == []


def test_the_circle_finder_sees_a_circle_closed_inside_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from canfar_core.never import X\n"
        "def f():\n    from canfar_core.contexts import Context\n"
    )
    assert "canfar_core.contexts" in executed_imports(sample)
    assert "canfar_core.never" not in executed_imports(sample)
    assert "canfar_core.contexts" not in executed_imports(sample, inside_functions=False)
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []
