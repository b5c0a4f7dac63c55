"""`canfar --help` and `--version` answered without click: the same text, and never stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from canfar import _command as entry
from canfar import _help_cache as help_cache
from canfar_core import __version__
from canfar_core.cli import main


def run_entry(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str):
    monkeypatch.setattr(sys, "argv", ["canfar", *argv])
    with pytest.raises(SystemExit) as exited:
        entry.run()
    return exited.value.code, capsys.readouterr().out


@pytest.fixture
def regular_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat every distribution as a regular install, as users have (the dev venv is editable)."""
    monkeypatch.setattr(help_cache, "_is_editable", lambda folder: False)


def test_cached_help_is_what_click_prints(canfar_home, regular_install, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "90")
    assert main(["--help"]) == 0
    from_click = capsys.readouterr().out

    code, first = run_entry(monkeypatch, capsys, "--help")
    assert (code, first) == (0, from_click)
    assert os.path.exists(help_cache.cache_file())

    def must_not_render() -> tuple[str, bool]:
        raise AssertionError("the cached help was not used")

    monkeypatch.setattr(help_cache, "render", must_not_render)
    assert run_entry(monkeypatch, capsys, "-h") == (0, from_click)


def test_the_key_follows_what_the_help_depends_on(canfar_home, regular_install, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    base = help_cache.key()
    assert base is not None
    assert "canfar_plugins.session_commands" in base
    monkeypatch.setenv("COLUMNS", "120")
    wider = help_cache.key()
    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", "auth")
    without_auth = help_cache.key()
    assert len({base, wider, without_auth}) == 3


def test_a_stale_cache_is_rendered_again(canfar_home, regular_install, monkeypatch, capsys):
    path = help_cache.cache_file()
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("some older key\nUsage: canfar [an old help]\n")
    code, text = run_entry(monkeypatch, capsys, "--help")
    assert code == 0
    assert "an old help" not in text
    assert "Commands:" in text


def test_help_is_not_cached_when_a_plugin_failed(canfar_home, regular_install, monkeypatch, capsys):
    monkeypatch.setattr(help_cache, "render", lambda: ("Usage: canfar\n", False))
    run_entry(monkeypatch, capsys, "--help")
    assert not os.path.exists(help_cache.cache_file())


def test_editable_installs_are_never_cached(tmp_path):
    editable = tmp_path / "mine-1.0.dist-info"
    editable.mkdir()
    (editable / "direct_url.json").write_text(
        json.dumps({"url": "file:///src", "dir_info": {"editable": True}})
    )
    regular = tmp_path / "theirs-1.0.dist-info"
    regular.mkdir()
    (regular / "direct_url.json").write_text(json.dumps({"url": "file:///x.whl"}))
    assert help_cache._is_editable(str(editable))
    assert not help_cache._is_editable(str(regular))
    assert help_cache._is_editable(str(tmp_path / "legacy.egg-info"))


def test_version_flag_matches_the_click_option(monkeypatch, capsys):
    assert main(["--version"]) == 0
    from_click = capsys.readouterr().out
    assert run_entry(monkeypatch, capsys, "--version") == (0, from_click)
    assert from_click == f"canfar {__version__}\n"


def test_a_cached_help_imports_neither_click_nor_plugins(canfar_home):
    script = textwrap.dedent(
        """
        import sys
        from canfar import _command as entry, _help_cache as help_cache
        help_cache._is_editable = lambda folder: False
        sys.argv = ["canfar", "--help"]
        try:
            entry.run()
        except SystemExit:
            pass
        heavy = ("click", "pluggy", "canfar_plugins")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        print("LOADED", loaded, file=sys.stderr)
        """
    )
    env = {**os.environ, "COLUMNS": "80"}
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert first.stdout == second.stdout
    assert "Commands:" in second.stdout
    assert "'click'" in first.stderr  # the first run renders it
    assert "LOADED []" in second.stderr, second.stderr


def test_one_cache_for_every_name_of_one_interpreter(
    canfar_home, regular_install, tmp_path, monkeypatch, capsys
):
    """``bin/python`` and ``bin/python3`` of one venv are links to one interpreter: calling
    canfar through either uses the help cached by the other."""
    monkeypatch.setenv("COLUMNS", "90")
    names = tmp_path / "bin"
    names.mkdir()
    for name in ("python", "python3"):
        (names / name).symlink_to(os.path.realpath(sys.executable))
    monkeypatch.setattr(sys, "executable", str(names / "python"))
    code, first = run_entry(monkeypatch, capsys, "--help")
    assert code == 0
    assert "Usage: canfar" in first

    def must_not_render() -> tuple[str, bool]:
        raise AssertionError("the help cached through bin/python was built again")

    monkeypatch.setattr(help_cache, "render", must_not_render)
    monkeypatch.setattr(sys, "executable", str(names / "python3"))
    assert run_entry(monkeypatch, capsys, "--help") == (0, first)


def test_another_interpreter_has_its_own_cache(canfar_home, regular_install, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    (tmp_path / "python").symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "other-python").write_text("")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    same = help_cache.key()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "other-python"))
    assert help_cache.key() != same
