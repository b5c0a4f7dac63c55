"""docs/troubleshooting.md quotes messages the code still prints: every literal part of each
quoted message (the words in capitals stand for what varies) is found in a string of the code."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.source import code_strings

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"
#: A quoted message: a code span at the start of a line, as each entry of the page begins.
MESSAGE = re.compile(r"^`((?:Error|Warning|ValueError|canfar: warning): [^`]+)`", re.M)
#: The parts that vary: words in capitals (NAME, PATH, REPLICA_COUNT=N, ...).
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]*\b")
PREFIXES = ("Error: ", "Warning: ", "ValueError: ", "canfar: warning: ")


def literal_parts(message: str) -> list[str]:
    """The fixed stretches of a quoted message, long enough to mean something."""
    for prefix in PREFIXES:
        message = message.removeprefix(prefix)
    parts = [p.strip(" '():;,.=-") for p in PLACEHOLDER.split(message)]
    return [p for p in parts if len(p) >= 8]


def test_the_page_quotes_messages() -> None:
    assert len(MESSAGE.findall(PAGE.read_text("utf-8"))) >= 30


def test_every_quoted_message_is_one_the_code_prints() -> None:
    strings = code_strings()
    stale = [
        f"{message!r}: {part!r}"
        for message in MESSAGE.findall(PAGE.read_text("utf-8"))
        for part in literal_parts(message)
        if not any(part in text for text in strings)
    ]
    assert not stale, "docs/troubleshooting.md quotes messages the code no longer has:\n" + (
        "\n".join(stale)
    )


def test_a_changed_message_is_caught() -> None:
    strings = code_strings()
    [part] = literal_parts("Error: the server fell into the sea: REASON")
    assert not any(part in text for text in strings)
