"""The docs stay honest: every --json command, session field, API method and exception is
documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import canfar.errors
from canfar.sessions import Session
from canfar_core.models import PLATFORM_KEYS, Image, PlatformStats
from canfar_plugins.session_commands import COMMANDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_json_command_is_in_json_output_md():
    text = (DOCS / "json-output.md").read_text()
    headings = re.findall(r"^### `canfar ([a-z]+)", text, flags=re.MULTILINE)
    headings += re.findall(r"`canfar ([a-z]+) --json", text)
    with_json = [c.name for c in COMMANDS if any(p.name == "as_json" for p in c.params)]
    assert with_json
    assert sorted(set(with_json) - set(headings)) == []


def test_every_field_of_the_json_records_is_documented():
    text = (DOCS / "json-output.md").read_text()
    for record in (PlatformStats, Image):
        for field in dataclasses.fields(record):
            assert f"`{field.name}`" in text or f'"{field.name}"' in text, field.name
    # sessions are printed as the platform sends them
    for key in PLATFORM_KEYS:
        assert f"`{key}`" in text, key


def test_every_session_method_and_exception_is_in_api_md():
    text = (DOCS / "api.md").read_text()
    public = [n for n in dir(Session) if not n.startswith("_") and callable(getattr(Session, n))]
    undocumented = [n for n in public if f"`{n}(" not in text and n != "close"]
    assert undocumented == []
    for name in canfar.errors.__all__:
        assert f"`{name}`" in text, name
