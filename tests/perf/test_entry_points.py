"""Plugins are found without importing importlib.metadata, and exactly as it finds them.

Start-up reads the ``entry_points.txt`` files on ``sys.path`` directly (importing
``importlib.metadata`` would cost about 25 ms); these tests hold that shortcut to the standard
library's answer.
"""

from __future__ import annotations

import sys
import zipfile
from importlib import metadata

import pytest

from canfar_core import _entrypoints


def standard(group: str) -> list[tuple[str, str, str, str | None]]:
    return sorted(
        (ep.name, ep.value, ep.dist.metadata["Name"], ep.dist.version)  # type: ignore[union-attr]
        for ep in metadata.entry_points(group=group)
    )


def fast(group: str) -> list[tuple[str, str, str, str | None]]:
    return sorted(
        (ep.name, ep.value, ep.dist.metadata["Name"], ep.dist.version)
        for ep in _entrypoints.entry_points(group)
    )


@pytest.mark.parametrize("group", ["canfar", "console_scripts", "pytest11"])
def test_the_installed_entry_points_are_those_importlib_metadata_finds(group):
    assert fast(group) == standard(group)
    if group == "canfar":  # not vacuous: the built-in plugins are there
        assert ("local", "canfar_plugins.local", "canfar") in {e[:3] for e in fast(group)}


def test_a_plugin_folder_on_sys_path_is_found_with_its_metadata(tmp_path, monkeypatch):
    info = tmp_path / "canfar_quota-2.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: canfar-quota\nVersion: 2.1\n\nBody"
    )
    (info / "entry_points.txt").write_text(
        "# a comment\n[console_scripts]\nquota = canfar_quota:main\n\n"
        "[canfar]\nquota = canfar_quota.plugin:Policy.instance [extra]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [ep for ep in _entrypoints.entry_points("canfar") if ep.name == "quota"]
    assert [(ep.value, ep.dist.metadata["Name"], ep.dist.version) for ep in found] == [
        ("canfar_quota.plugin:Policy.instance [extra]", "canfar-quota", "2.1")
    ]
    assert fast("canfar") == standard("canfar")


def test_load_imports_the_module_and_follows_the_attribute_path(tmp_path, monkeypatch):
    (tmp_path / "fast_ep_target.py").write_text("class Policy:\n    instance = 'the policy'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = _entrypoints.EntryPoint("p", "fast_ep_target:Policy.instance [x]", "canfar", None)
    try:
        assert ep.load() == "the policy"
    finally:
        sys.modules.pop("fast_ep_target", None)


def test_a_zip_on_sys_path_falls_back_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            "zipped_plugin-1.0.dist-info/METADATA", "Name: zipped-plugin\nVersion: 1.0\n"
        )
        zipped.writestr("zipped_plugin-1.0.dist-info/entry_points.txt", "[canfar]\nz = zipped\n")
    monkeypatch.syspath_prepend(str(archive))
    assert ("z", "zipped", "zipped-plugin", "1.0") in fast("canfar")
    assert fast("canfar") == standard("canfar")
