"""docs/quickstart.md cannot rot: every shell and Python block in it runs, in order, as a reader
would run them, and the outputs it shows are the outputs printed.

The reader's terminal is a fresh checkout copy in a temporary folder, with canfar installed into
its own ``.venv`` by the page's install block. Only what a test cannot do is changed, and each
change is listed here:

- no network: the venv sees the packages installed for the tests (and not the setuptools a new
  venv may bring) so that pip, offline, finds the dependencies and build tools there; the
  plugins installed there that are not part of canfar are disabled, as a reader's fresh venv
  would not have them;
- the login goes to the in-repo fake Skaha service on loopback instead of the platform, with its
  token in ``token.txt``;
- ``BROWSER`` is a command that records the address ``canfar open`` gives it.

A block fenced as ``text title="Output"`` right after a block is that block's exact stdout.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakeskaha.server import FakeSkaha
from tests.local.conftest import _kill_everything

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "quickstart.md"
PLATFORM_URL = "https://ws-uv.canfar.net/skaha"
VENV_COMMAND = "python3 -m venv .venv"
#: The venv sees the packages installed for the tests (a path file, as ``--system-site-packages``
#: would for a system Python); Python 3.10 and 3.11 put an old setuptools into every new venv,
#: which would shadow the tests' own, the one able to build canfar offline.
OFFLINE_VENV = (
    f"{sys.executable} -m venv .venv && "
    f"echo {sysconfig.get_path('purelib')} > "
    "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')"
    "/test-packages.pth && "
    ".venv/bin/python -m pip uninstall --quiet --yes setuptools"
)
#: What a checkout needs for ``pip install .``.
CHECKOUT = ("pyproject.toml", "README.md", "LICENSE", "canfar", "canfar_core", "plugins")
OUTPUT_TITLE = 'title="Output"'
FENCE = re.compile(r"^```([a-z]*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    language: str
    code: str
    line: int
    output: str | None = None  # the exact stdout the page shows for it


def page_blocks(text: str) -> list[Block]:
    """The runnable blocks of a page, in order, each with the output shown after it."""
    found: list[Block] = []
    for match in FENCE.finditer(text):
        language, info, code = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        if language == "text" and OUTPUT_TITLE in info:
            assert found, f"line {line}: an output block with no block before it"
            previous_end = text.rfind("```", 0, match.start())
            between = text[previous_end + 3 : match.start()].strip()
            assert not between, f"line {line}: an output block must follow its block directly"
            found[-1].output = code
        elif language in ("bash", "python"):
            found.append(Block(language, code, line))
    return found


def test_the_page_parser_finds_blocks_and_their_outputs() -> None:
    text = '```bash\necho hi\n```\n\n```text title="Output"\nhi\n```\n\n```python\nx = 1\n```\n'
    blocks = page_blocks(text)
    assert [(b.language, b.code, b.output) for b in blocks] == [
        ("bash", "echo hi\n", "hi\n"),
        ("python", "x = 1\n", None),
    ]


def _outside_plugins() -> str:
    """Entry-point distributions of the ``canfar`` group other than canfar itself."""
    names = {
        ep.dist.name
        for ep in importlib.metadata.entry_points(group="canfar")
        if ep.dist is not None and ep.dist.name.lower() != "canfar"
    }
    return ",".join(sorted(names))


@pytest.fixture
def reader(tmp_path: Path, canfar_home: Path) -> Iterator[dict]:
    """The reader's folder (a copy of the checkout) and environment."""
    checkout = tmp_path / "canfar"
    checkout.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "tests", ".venv*")
    for name in CHECKOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=ignore)
        else:
            shutil.copy2(source, checkout / name)
    browser_log = tmp_path / "browser.log"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {browser_log}\n')
    browser.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CANFAR_", "PIP_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        HOME=str(home),
        # the installed console scripts of the tests' own environment (jupyter-lab) after
        # the reader's venv, as they would be after any other install
        PATH=os.pathsep.join(
            [str(checkout / ".venv" / "bin"), str(Path(sys.executable).parent), env["PATH"]]
        ),
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip reads "0" here as: do not isolate the build
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        BROWSER=str(browser),
        CANFAR_DISABLE_PLUGINS=_outside_plugins(),
    )
    if not env["CANFAR_DISABLE_PLUGINS"]:
        del env["CANFAR_DISABLE_PLUGINS"]
    yield {"dir": checkout, "env": env, "browser_log": browser_log}
    from canfar_core.config import state_dir

    _kill_everything(state_dir() / "local")


def _run(block: Block, reader: dict) -> str:
    code = block.code
    if block.language == "bash":
        command = ["bash", "-euo", "pipefail", "-c", code]
    else:
        command = [str(reader["dir"] / ".venv" / "bin" / "python"), "-c", code]
    done = subprocess.run(
        command,
        cwd=reader["dir"],
        env=reader["env"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"docs/quickstart.md line {block.line} exited {done.returncode}:\n{code}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("jupyterlab") is None,
    reason="the quickstart installs the notebook extra: JupyterLab must be installed to run it "
    "offline",
)
def test_every_block_of_the_quickstart_runs(reader: dict) -> None:
    blocks = page_blocks(DOC.read_text(encoding="utf-8"))
    scripts: dict[str, Block] = {}
    substituted: set[str] = set()
    with FakeSkaha() as platform:
        (reader["dir"] / "token.txt").write_text(platform.token + "\n")
        for block in blocks:
            first = block.code.splitlines()[0]
            if block.language == "python" and re.fullmatch(r"# [\w-]+\.py", first):
                # a script the reader saves; a later block runs it
                (reader["dir"] / first[2:]).write_text(block.code)
                scripts[first[2:]] = block
                continue
            if VENV_COMMAND in block.code:
                block.code = block.code.replace(VENV_COMMAND, OFFLINE_VENV)
                substituted.add("venv")
            if PLATFORM_URL in block.code:
                block.code = block.code.replace(PLATFORM_URL, platform.url)
                substituted.add("login")
            printed = _run(block, reader)
            if block.output is not None:
                assert printed == block.output, f"docs/quickstart.md line {block.line}"
            if "canfar open" in block.code:
                _check_the_browser_got_the_notebook(reader["browser_log"])
                substituted.add("browser")
        assert substituted == {"venv", "login", "browser"}, "a block this test expects is gone"
        assert platform.requests, "the login never reached the fake service"

    later = "".join(b.code for b in blocks)
    for name, block in scripts.items():
        assert later.count(name) > 1, f"{name} (line {block.line}) is never run"


def _check_the_browser_got_the_notebook(log: Path) -> None:
    deadline = time.monotonic() + 10
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    [url] = log.read_text().split()
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as answer:  # the notebook serves its page
        assert answer.status == 200
