"""The import rules of docs/architecture.md: the core imports no plugin and not the public
package, and no built-in plugin imports another (each could have been written by a third party).
The built-ins may share the helper package ``canfar_plugins._support``, which imports no plugin;
the packages installed separately (``plugins/canfar-*``) import nothing of ``canfar_plugins``.
"""

from __future__ import annotations

import ast
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
