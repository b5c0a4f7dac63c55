"""``chunk`` and ``stripe`` against the platform client's own, run in its own virtual
environment: the same shares where the two are meant to agree (every ``stripe``, and ``chunk``
when the items split evenly), and the documented difference where they are not.

The public client is not installed here and a test installs nothing (no network): set
``PUBLIC_CANFAR_VENV`` to a virtual environment holding ``canfar==1.5.2`` (``benchmarks/compare.py``
makes one in its cache folder) to run these; without it they are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from canfar.helpers import distributed

EVEN = [(12, 4), (12, 3), (100, 10), (8, 8), (0, 3)]
UNEVEN = [(10, 4), (199, 100), (5, 3), (2, 5)]

PEER_SCRIPT = """
import json, sys
from canfar.helpers import distributed
cases = json.loads(sys.argv[1])
out = []
for size, total in cases:
    items = list(range(size))
    out.append({
        "chunk": [
            list(distributed.chunk(items, replica=r, total=total)) for r in range(1, total + 1)
        ],
        "stripe": [
            list(distributed.stripe(items, replica=r, total=total)) for r in range(1, total + 1)
        ],
    })
print(json.dumps(out))
"""


def peer_python() -> Path:
    folder = os.environ.get("PUBLIC_CANFAR_VENV", "").strip()
    if not folder:
        pytest.skip("PUBLIC_CANFAR_VENV is not set: no virtual environment with canfar 1.5.2")
    python = Path(folder) / "bin" / "python"
    if not python.exists():
        pytest.skip(f"PUBLIC_CANFAR_VENV={folder} has no bin/python")
    return python


def peer_shares(cases: list[tuple[int, int]]) -> list[dict]:
    done = subprocess.run(
        [str(peer_python()), "-c", PEER_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REPLICA_ID": "", "REPLICA_COUNT": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ours(strategy, size: int, total: int) -> list[list[int]]:
    return [list(strategy(list(range(size)), replica=r, total=total)) for r in range(1, total + 1)]


def test_even_splits_give_the_same_shares():
    for (size, total), theirs in zip(EVEN, peer_shares(EVEN), strict=True):
        assert ours(distributed.chunk, size, total) == theirs["chunk"], (size, total)
        assert ours(distributed.stripe, size, total) == theirs["stripe"], (size, total)


def test_stripe_agrees_on_uneven_splits_and_chunk_stays_balanced():
    for (size, total), theirs in zip(UNEVEN, peer_shares(UNEVEN), strict=True):
        assert ours(distributed.stripe, size, total) == theirs["stripe"], (size, total)
        mine = ours(distributed.chunk, size, total)
        sizes = [len(share) for share in mine]
        assert max(sizes) - min(sizes) <= 1, (size, total)
        flat = [item for share in mine for item in share]
        assert flat == [item for share in theirs["chunk"] for item in share] == list(range(size))
