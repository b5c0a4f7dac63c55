"""docs/plugins.md, the plugin author's guide: its hook reference is generated from the hook
specs and cannot drift, and its examples run."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import textwrap
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from canfar_core import hookspecs
from canfar_core.cli import main
from canfar_core.manager import get_manager

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugins.md"
GENERATOR = ROOT / "docs" / "gen_plugin_reference.py"
HOOKS = hookspecs.hook_names()


def _generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_plugin_reference", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _python_block(containing: str) -> str:
    """The one ```python block of docs/plugins.md that contains ``containing``."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", _doc(), re.S) if containing in b]
    assert len(blocks) == 1, f"expected one python block with {containing!r}, found {len(blocks)}"
    return blocks[0]


def _example(name: str) -> str:
    doc = inspect.getdoc(hookspecs.hook_spec(name)) or ""
    _, marker, rest = doc.partition("Example::")
    assert marker, f"the docstring of {name} has no 'Example::' block"
    return textwrap.dedent(rest).strip()


def test_hook_reference_is_generated_from_the_specs() -> None:
    current = _doc()
    assert current == _generator().render(current), (
        "the hook reference in docs/plugins.md is out of date: "
        "run `python docs/gen_plugin_reference.py` and commit docs/plugins.md"
    )


def test_generator_check_mode_reports_a_stale_page(tmp_path: Path, capsys) -> None:
    generator = _generator()
    stale = tmp_path / "plugins.md"
    stale.write_text(_doc().replace("### `canfar_prepare_session`", "### `old`"), "utf-8")
    generator.DOC = stale
    assert generator.main(["--check"]) == 1
    assert "python docs/gen_plugin_reference.py" in capsys.readouterr().err
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
    assert stale.read_text("utf-8") == _doc()


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_docstring_with_a_working_example(name: str) -> None:
    spec = hookspecs.hook_spec(name)
    assert len(inspect.getdoc(spec) or "") > 80, f"{name} needs a real docstring"
    example = _example(name)
    tree = ast.parse(example)  # a syntax error in an example fails here
    implemented = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(getattr(d, "id", None) == "hookimpl" for d in node.decorator_list)
    ]
    assert implemented == [name], f"the example of {name} must implement {name} with @hookimpl"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_section_with_its_exact_signature(name: str) -> None:
    section = re.search(rf"### `{name}`\n\n```python\n(.*?)\n```", _doc())
    assert section, f"docs/plugins.md has no section for {name}"
    assert section.group(1) == _generator().signature(name)
    assert f"def {name}(" in _doc().split(f"### `{name}`", 1)[1]


def test_the_reference_documents_exactly_the_hooks_that_exist() -> None:
    documented = re.findall(r"^### `(canfar_\w+)`$", _doc(), re.M)
    assert documented == HOOKS


def test_every_object_the_hook_docs_name_exists() -> None:
    missing = []
    for name in HOOKS:
        for dotted in re.findall(
            r":\w+:`~?(canfar\w*(?:\.\w+)+)`", hookspecs.hook_spec(name).__doc__
        ):
            module_name, _, attribute = dotted.rpartition(".")
            try:
                found = hasattr(importlib.import_module(module_name), attribute)
            except ImportError:
                found = False
            if not found:
                missing.append(f"{name}: {dotted}")
    assert not missing, f"hook docs name objects that do not exist: {missing}"


def test_the_minimal_plugin_of_the_guide_works(canfar_plugin) -> None:
    module = types.ModuleType("canfar_hello")
    exec(compile(_python_block("# canfar_hello.py"), "canfar_hello.py", "exec"), module.__dict__)

    group = click.Group()
    module.canfar_register_commands(cli=group)
    said = CliRunner().invoke(group, ["hello", "Vera"])
    assert (said.exit_code, said.output) == (0, "Hello, Vera!\n")

    canfar_plugin(module, name="hello")
    (info,) = [p for p in get_manager().plugins() if p.name == "hello"]
    assert info.hooks == ["canfar_register_commands"]


def test_the_minimal_plugin_becomes_a_canfar_command(canfar_plugin, capsys) -> None:
    module = types.ModuleType("canfar_hello")
    exec(compile(_python_block("# canfar_hello.py"), "canfar_hello.py", "exec"), module.__dict__)
    canfar_plugin(module, name="hello")
    assert main(["hello", "Vera"]) == 0
    assert capsys.readouterr().out == "Hello, Vera!\n"


def test_the_guides_test_examples_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_guide_policy=_python_block("def test_big_sessions_are_refused"),
        test_guide_command=_python_block("def test_site_command"),
    )
    pytester.runpytest_inprocess("-q").assert_outcomes(passed=2)
