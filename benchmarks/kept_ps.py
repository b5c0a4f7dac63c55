#!/usr/bin/env python3
"""``canfar ps --all`` listing 5,000 kept sessions against listing 5,000 sessions on the fake
Skaha server: the journal of finished work must cost at most 1.2 times the listing.

Run from the project root with the environment canfar is installed in::

    .venv-test/bin/python benchmarks/kept_ps.py [--sessions 5000] [--runs 5]

Each figure is the median wall time of fresh ``canfar ps --all`` processes (after one warm-up),
each in an empty home of its own, reaching the fake through ``CANFAR_URL``/``CANFAR_TOKEN``.
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
    command = [str(Path(sys.executable).parent / "canfar"), "ps", "--all", "-q"]
    seconds = []
    for number in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        if number:  # the first is the warm-up
            seconds.append(time.perf_counter() - start)
        shown = len(done.stdout.split())
        if shown != expected:
            raise SystemExit(f"ps --all showed {shown} sessions, not {expected}")
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, FakeSkaha() as server:
        for k in range(options.sessions):
            server.add_session(name=f"job-{k}", status="Completed")
        listing = timed(environment(Path(work) / "a", server), options.runs, options.sessions)
        kept_env = environment(Path(work) / "b", server)
        timed(kept_env, 0, options.sessions)  # seen finished once: kept
        server.advance(HEADLESS_TTL + 60)  # and forgotten by the server
        kept = timed(kept_env, options.runs, options.sessions)
    print(f"ps --all, {options.sessions:,} sessions on the fake:   {listing * 1000:.0f} ms")
    print(f"ps --all, {options.sessions:,} kept, none on the fake: {kept * 1000:.0f} ms")
    print(f"ratio: {kept / listing:.2f} (target: at most 1.20)")


if __name__ == "__main__":
    main()
