"""docs/environment.md names every CANFAR_* variable canfar reads."""

from __future__ import annotations

import re

from tests.docs.source import ROOT, code_strings

PAGE = ROOT / "docs" / "environment.md"
VARIABLE = re.compile(r"(?<![A-Za-z0-9_])CANFAR_[A-Z][A-Z0-9_]*")


def test_every_canfar_variable_is_documented() -> None:
    read = {name for text in code_strings() for name in VARIABLE.findall(text)}
    assert {"CANFAR_URL", "CANFAR_TOKEN", "CANFAR_DISABLE_PLUGINS"} <= read
    page = PAGE.read_text("utf-8")
    missing = sorted(name for name in read if f"`{name}`" not in page)
    assert not missing, f"docs/environment.md does not document {missing}"
