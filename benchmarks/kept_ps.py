#!/usr/bin/env python3
"""``canfar ps --all`` listing 5,000 kept sessions against listing 5,000 sessions on the fake
Skaha server: the journal of finished work must cost at most 1.2 times the listing.

Run from the project root with the environment canfar is installed in::

    .venv-test/bin/python benchmarks/kept_ps.py [--sessions 5000] [--runs 7]

Each figure is the median wall time of fresh ``canfar ps --all -q`` processes (after one
warm-up; the two commands take turns, so that the machine's load falls on both alike), each in
an empty home of its own, reaching its fake server through ``CANFAR_URL`` and ``CANFAR_TOKEN``.
The baseline lists running sessions, which the journal never keeps: ``ps --all`` as it cost
before there was a journal.
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


def once(env: dict[str, str], expected: int) -> float:
    """Seconds one ``canfar ps --all -q`` took, checked to list ``expected`` sessions."""
    command = [str(Path(sys.executable).parent / "canfar"), "ps", "--all", "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    if len(done.stdout.split()) != expected:
        raise SystemExit(f"ps --all showed {len(done.stdout.split())} sessions, not {expected}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    count = options.sessions
    with tempfile.TemporaryDirectory() as work, FakeSkaha() as live, FakeSkaha() as forgetting:
        for k in range(count):
            live.add_session(name=f"run-{k}", status="Running")  # never kept
            forgetting.add_session(name=f"job-{k}", status="Completed")
        envs = {
            "listed": environment(Path(work) / "listed", live),
            "kept": environment(Path(work) / "kept", forgetting),
        }
        once(envs["kept"], count)  # seen finished: kept
        forgetting.advance(HEADLESS_TTL + 60)  # then forgotten by the server
        times: dict[str, list[float]] = {name: [] for name in envs}
        for number in range(options.runs + 1):  # taking turns, so that load falls on both
            for name, env in envs.items():
                seconds = once(env, count)
                if number:  # the first of each is the warm-up
                    times[name].append(seconds)
    listed, kept = (statistics.median(times[name]) for name in ("listed", "kept"))
    print(f"ps --all, {count:,} sessions on the fake (none kept): {listed * 1000:.0f} ms")
    print(f"ps --all, {count:,} kept, none left on the fake:      {kept * 1000:.0f} ms")
    print(f"kept / listed: {kept / listed:.2f} (target: at most 1.20)")


if __name__ == "__main__":
    main()
