"""The Python reference (docs/python-api.md, rendered by mkdocstrings) describes each public
class and function once, and every argument a docstring describes is one its signature takes:
``mkdocs build --strict`` stops on one that is not. Read without mkdocs: the suite runs where
the documentation tools are not installed."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from tests.docs.source import ROOT

PAGE = ROOT / "docs" / "python-api.md"
#: A ``::: module`` directive with its indented options.
DIRECTIVE = re.compile(r"^::: ([\w.]+)\n((?:[ \t]+.*\n?)*)", re.M)


def directives(text: str) -> list[tuple[str, list[str] | None, bool]]:
    """Each directive's module, its ``members`` option (``None``: the module's exports) and
    whether inherited members are shown."""
    found = []
    for module, options in DIRECTIVE.findall(text):
        members = re.search(r"members:\s*\[([^\]]*)\]", options)
        names = [n.strip() for n in members.group(1).split(",") if n.strip()] if members else None
        found.append((module, names, "inherited_members: true" in options))
    return found


def rendered(module: ModuleType, members: list[str] | None) -> list[str]:
    """The classes and functions the directive shows, by name."""
    names = members if members is not None else list(getattr(module, "__all__", []))
    return [n for n in names if inspect.isclass(getattr(module, n)) or callable(getattr(module, n))]


def documented() -> Iterator[tuple[str, Any, bool]]:
    """``(qualified name, object, inherited members shown)`` of every class and function the
    page shows."""
    for module_name, members, inherited in directives(PAGE.read_text("utf-8")):
        module = importlib.import_module(module_name)
        for name in rendered(module, members):
            yield f"{module_name}.{name}", getattr(module, name), inherited


def argument_names(docstring: str) -> list[str]:
    """The entries of a Google-style ``Args:`` section, as written before their colon."""
    lines = inspect.cleandoc(docstring).splitlines()
    names: list[str] = []
    for start, line in enumerate(lines):
        if line.strip() != "Args:":
            continue
        indent = len(line) - len(line.lstrip())
        entry_indent = None
        for entry in lines[start + 1 :]:
            if not entry.strip():
                continue
            depth = len(entry) - len(entry.lstrip())
            if depth <= indent:
                break
            entry_indent = entry_indent or depth
            if depth == entry_indent:
                names.append(re.sub(r"\s*\(.*?\)\s*$", "", entry.strip().split(":", 1)[0]))
    return names


def described(obj: Any, inherited: bool) -> Iterator[tuple[str, Any, Any]]:
    """``(label, docstring holder, callable whose signature it describes)`` for ``obj`` and,
    for a class, each public method the page shows."""
    if not inspect.isclass(obj):
        yield obj.__qualname__, obj, obj
        return
    yield obj.__qualname__, obj, obj.__init__
    for name, member in inspect.getmembers(obj, inspect.isfunction):
        if not name.startswith("_") and (inherited or name in vars(obj)):
            yield f"{obj.__qualname__}.{name}", member, member


def test_the_page_is_read() -> None:
    names = [name for name, _, _ in documented()]
    assert "canfar.sessions.Session" in names
    assert "canfar.errors.SessionRequestError" in names


def test_each_class_and_function_is_described_once() -> None:
    places: dict[int, list[str]] = {}
    for name, obj, _ in documented():
        places.setdefault(id(obj), []).append(name)
    assert [names for names in places.values() if len(names) > 1] == []


def test_the_argument_parser_reads_each_entry() -> None:
    text = """Summary.

    Args:
        context: a name.
        timeout (float): seconds
            on two lines.
        a, b: both.

    Returns:
        nothing: really.
    """
    assert argument_names(text) == ["context", "timeout", "a, b"]


def test_every_described_argument_is_in_the_signature() -> None:
    wrong = []
    for _, obj, inherited in documented():
        for label, holder, function in described(obj, inherited):
            parameters = inspect.signature(function).parameters
            for name in argument_names(inspect.getdoc(holder) or ""):
                if name not in parameters:
                    wrong.append(f"{label}: {name!r}")
    assert wrong == []
