#!/usr/bin/env python3
"""``canfar ps --all`` listing 5,000 kept sessions against listing 5,000 sessions on the fake
Skaha server: the journal of finished work must cost at most 1.2 times the listing.

Run from the project root with the environment canfar is installed in::

    .venv-test/bin/python benchmarks/kept_ps.py [--sessions 5000] [--runs 5]

Each figure is the median wall time of fresh ``canfar ps --all -q`` processes (after one
warm-up), in an empty home of their own, reaching the fake through ``CANFAR_URL`` and
``CANFAR_TOKEN``. The baseline lists running sessions, which the journal never keeps: the cost
of ``ps --all`` without a journal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeskaha import FakeSkaha  # noqa: E402
from tests.fakeskaha.server import HEADLESS_TTL  # noqa: E402


def environment(home: Path, server: FakeSkaha) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANFAR_", "XDG_"))}
    for name in ("config", "state", "data", "cache"):
        env[f"XDG_{name.upper()}_HOME"] = str(home / name)
    env.update(HOME=str(home), CANFAR_URL=server.url, CANFAR_TOKEN=server.token)
    return env


def timed(env: dict[str, str], runs: int, expected: int) -> float:
    """The median seconds of ``runs`` calls of ``canfar ps --all -q``, after one warm-up."""
    command = [str(Path(sys.executable).parent / "canfar"), "ps", "--all", "-q"]
    seconds = []
    for number in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        if number:
            seconds.append(time.perf_counter() - start)
        shown = len(done.stdout.split())
        if shown != expected:
            raise SystemExit(f"ps --all showed {shown} sessions, not {expected}")
    return statistics.median(seconds) if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    count, runs = options.sessions, options.runs
    with tempfile.TemporaryDirectory() as work, FakeSkaha() as server:
        running = [server.add_session(name=f"run-{k}", status="Running") for k in range(count)]
        listing = timed(environment(Path(work) / "a", server), runs, count)  # nothing to keep
        for session_id in running:
            server.sessions[session_id].deleted = True
        for k in range(count):
            server.add_session(name=f"job-{k}", status="Completed")
        kept_env = environment(Path(work) / "b", server)
        both = timed(kept_env, runs, count)  # seen finished: kept, and still on the server
        server.advance(HEADLESS_TTL + 60)  # then forgotten by the server
        kept = timed(kept_env, runs, count)
    print(f"ps --all, {count:,} running sessions on the fake:         {listing * 1000:.0f} ms")
    print(f"ps --all, {count:,} finished on the fake, each kept too: {both * 1000:.0f} ms")
    print(f"ps --all, {count:,} kept, none left on the fake:         {kept * 1000:.0f} ms")
    print(f"kept / running: {kept / listing:.2f} (target: at most 1.20)")


if __name__ == "__main__":
    main()
