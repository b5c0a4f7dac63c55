"""Real file systems for the fault tests: a small tmpfs filled to the last byte, or a read-only
bind mount, each in a mount namespace of its own (``unshare``: root there without being root
here)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

NAMESPACE = ["unshare", "--user", "--map-root-user", "--mount"]


def _namespaces_work() -> bool:
    try:
        done = subprocess.run([*NAMESPACE, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _namespaces_work(), reason="needs unshare with user and mount namespaces"
)

#: Python for a script run in the namespace: ``fill(folder)`` writes a file there until not one
#: byte more fits (smaller and smaller writes, so the last block is used too).
FILL = """
import os

def fill(folder):
    with open(os.path.join(folder, "filler"), "wb") as handle:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    handle.write(b"\\0" * size)
                    handle.flush()
            except OSError:
                pass
        try:
            handle.close()
        except OSError:
            pass
"""


def run_script(script: str, *args: str) -> Any:
    """Run the Python ``script`` in a namespace of its own with canfar's command line as its
    first argument, then ``args``; what it printed, read as JSON."""
    from tests.local.conftest import canfar_command

    done = subprocess.run(
        [*NAMESPACE, sys.executable, "-c", script, json.dumps(canfar_command()), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
