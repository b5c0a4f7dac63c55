"""What the fault, fuzz and secrets tests share: the real ``canfar`` command run in-process,
an isolated home with only the built-in plugins, and the fake Skaha service as the server.

Import the fixtures into a conftest::

    from tests.faults.harness import fake, hermetic, run  # noqa: F401
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakeskaha import FakeSkaha

#: The token the fake accepts in these tests: distinctive, so a leak anywhere is found.
TOKEN = "cf-SECRET-7Qx9Zk2LwP4vN8rT1yHb"
USER = "jdoe"


@dataclass
class Result:
    """What one run of ``canfar`` did."""

    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one line on stderr, which must be an ``Error:`` line."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, f"expected one error line, got:\n{self.err}"
        assert lines[0].startswith("Error: "), self.err
        return lines[0]


def third_party_plugins() -> list[str]:
    """Distributions other than canfar itself that add plugins (installed examples)."""
    from importlib.metadata import entry_points

    names = set()
    for ep in entry_points(group="canfar"):
        dist = getattr(ep, "dist", None)
        if dist is not None and dist.metadata["Name"] != "canfar":
            names.add(dist.metadata["Name"])
    return sorted(names)


def isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the built-in plugins, tiny retry waits, no browser, no registry on the network."""
    from canfar_core.manager import reset_manager

    monkeypatch.setenv("CANFAR_DISABLE_PLUGINS", ",".join(third_party_plugins()))
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.001")
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "5")
    # Server discovery (``auth login NAME``) reads this list instead of the real registries.
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", "http://127.0.0.1:9/reg/resource-caps")
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "CANFAR_HTTP_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    reset_manager()


@pytest.fixture(autouse=True)
def hermetic(canfar_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test: its own config and state folders, and :func:`isolate`."""
    from canfar_core.manager import reset_manager

    isolate(monkeypatch)
    yield canfar_home
    reset_manager()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSkaha]:
    """The fake Skaha service, which ``canfar`` talks to through ``CANFAR_URL``/``CANFAR_TOKEN``."""
    server = FakeSkaha(tokens={TOKEN: USER}).start()
    monkeypatch.setenv("CANFAR_URL", server.url)
    monkeypatch.setenv("CANFAR_TOKEN", TOKEN)
    try:
        yield server
    finally:
        server.stop()


def invoke(capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str = "") -> Result:
    """``canfar ARGV`` in this process, with ``stdin``; its exit code, stdout and stderr."""
    import sys

    from canfar_core.cli import main

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
    finally:
        sys.stdin = saved
    return Result(code, captured.out, captured.err)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``run("ps", "-q", stdin="...")``: canfar in-process."""

    def call(*argv: str, stdin: str = "") -> Result:
        return invoke(capsys, list(argv), stdin)

    return call
