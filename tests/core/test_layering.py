"""The import rules of docs/architecture.md: the core imports no plugin and not the public
package, and no built-in plugin imports another (each could have been written by a third party).
The built-ins may share the helper package ``canfar_plugins._support``, which imports no plugin;
the packages installed separately (``plugins/canfar-*``) import nothing of ``canfar_plugins``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "canfar_core"
PLUGINS = ROOT / "plugins" / "canfar_plugins"
#: The helpers the built-in plugins (and the facade) share; not a plugin.
SUPPORT = "_support"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def plugin_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "canfar_plugins" and len(parts) > 1 else None


def test_the_core_imports_no_plugin_and_not_the_public_package():
    offending = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in CORE.rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in {"canfar_plugins", "canfar"}
    }
    assert not offending, sorted(offending)


def test_no_builtin_plugin_imports_another():
    offending = set()
    for path in PLUGINS.rglob("*.py"):
        relative = path.relative_to(PLUGINS)
        own = relative.parts[0].removesuffix(".py")
        for module in imported_modules(path):
            other = plugin_of(module)
            if other is not None and other not in (own, SUPPORT):
                offending.add(f"canfar_plugins/{relative} imports {module}")
    assert not offending, sorted(offending)


def test_the_rules_see_the_imports_they_judge(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from canfar_plugins.skaha import wire\n")
    assert plugin_of(next(iter(imported_modules(sample)))) == "skaha"


def test_the_shared_helpers_import_no_plugin():
    offending = {
        f"canfar_plugins/{path.relative_to(PLUGINS)} imports {module}"
        for path in (PLUGINS / SUPPORT).rglob("*.py")
        for module in imported_modules(path)
        if plugin_of(module) not in (None, SUPPORT)
    }
    assert not offending, sorted(offending)


def test_separately_installed_plugins_use_only_the_documented_core():
    """canfar-slurm and the examples are installed on their own: they import neither a built-in
    plugin nor the built-ins' helpers, only canfar_core (what docs/plugins.md names)."""
    offending = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "plugins").glob("canfar-*/src/**/*.py")
        for module in imported_modules(path)
        if module.split(".")[0] == "canfar_plugins"
    }
    assert not offending, sorted(offending)


def documented_names() -> set[str]:
    """The names the table "What a plugin may use" of docs/plugins.md gives plugin authors:
    ``canfar_core.models`` (a module: all of it), ``canfar_core.backend.Backend`` (one name),
    and the bare names that follow a dotted one in a cell (``save_context`` after
    ``canfar_core.contexts.Context``), which live beside it."""
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = page.split("## What a plugin may use", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        parent = ""
        for token in re.findall(r"`([^`]+)`", row.split("|")[1]):
            token = token.split("(", 1)[0]
            if token.startswith("canfar_core"):
                names.add(token)
                parent = token.rsplit(".", 1)[0]
            elif parent:
                names.add(f"{parent}.{token}")
    return names


def core_imports(path: Path) -> set[str]:
    """What a file takes from ``canfar_core``: ``canfar_core.config.plugin_settings`` for
    ``from canfar_core.config import plugin_settings``, the module for ``import canfar_core.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "canfar_core")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and not node.level
            and node.module.split(".")[0] == "canfar_core"
        ):
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def allowed(name: str, documented: set[str]) -> bool:
    """``name`` is documented, or lives in a module documented whole."""
    return name in documented or any(name.startswith(f"{d}.") for d in documented)


def test_separately_installed_plugins_import_only_what_the_guide_names():
    documented = documented_names()
    assert {"canfar_core.hookimpl", "canfar_core.models", "canfar_core.contexts.save_context"} <= (
        documented
    )
    offending = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "plugins").glob("canfar-*/src/**/*.py")
        for name in core_imports(path)
        if not allowed(name, documented)
    }
    assert not offending, sorted(offending)


def test_the_guide_check_sees_an_undocumented_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from canfar_core.config import private_dir, config_file\n"
        "from canfar_core.models import SessionSpec\nimport canfar_core.sessions\n",
        encoding="utf-8",
    )
    documented = documented_names()
    refused = sorted(name for name in core_imports(sample) if not allowed(name, documented))
    assert refused == ["canfar_core.config.config_file", "canfar_core.sessions"]
