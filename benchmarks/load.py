"""canfar under load, against the fake Skaha service: ``ps`` of 5,000 sessions and ``delete`` of
500 ids.

Run it with ``python benchmarks/load.py [--sessions N] [--deletes N] [--runs K] [--latency S]``.
It starts the project's fake Skaha server (``tests/fakeskaha``, a real HTTP server on 127.0.0.1)
in this process, and runs the real ``canfar`` command in a fresh process for each measurement,
pointed at it with ``CANFAR_URL`` and ``CANFAR_TOKEN``, with an empty home. For each command it
prints the wall time (median, min and max of K runs), the requests the server saw per run, and
the most requests it was answering at once (the client's concurrency). ``--latency`` makes the
server wait that long before each DELETE answer, as a real service across a network does; the
deletes are then measured both without and with it.

Figures only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeskaha import FakeSkaha  # noqa: E402 - needs the project root on sys.path


@dataclass
class Measure:
    """What the runs of one command gave."""

    label: str
    seconds: list[float]
    requests: list[int]
    concurrency: list[int]
    output: str = ""

    def line(self) -> str:
        median = statistics.median(self.seconds)
        return (
            f"{self.label:<38} median {median * 1000:7.0f} ms "
            f"(min {min(self.seconds) * 1000:.0f}, max {max(self.seconds) * 1000:.0f}, "
            f"{len(self.seconds)} runs)  requests/run {statistics.median(self.requests):g}  "
            f"peak concurrency {max(self.concurrency)}"
        )


def _canfar() -> list[str]:
    script = Path(sys.executable).with_name("canfar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "canfar_core.cli"]


def _environment(server: FakeSkaha, home: str) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CANFAR_", "PYTHON", "REPLICA_", "XDG_"))
    }
    keep.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        XDG_STATE_HOME=os.path.join(home, "state"),
        XDG_DATA_HOME=os.path.join(home, "data"),
        XDG_CACHE_HOME=os.path.join(home, "cache"),
        CANFAR_URL=server.url,
        CANFAR_TOKEN=server.token,
    )
    return keep


def _run(server: FakeSkaha, env: dict[str, str], args: list[str]) -> tuple[float, int, int, str]:
    """One run of ``canfar ARGS``: seconds, requests seen, peak concurrency, stdout."""
    server.clear_requests()
    server.max_in_flight = 0  # nothing is in flight between runs
    started = time.perf_counter()
    done = subprocess.run(
        [*_canfar(), *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"canfar {' '.join(args[:3])}... failed: {done.stderr.strip()}")
    return elapsed, len(server.requests), server.max_in_flight, done.stdout


def measure_ps(server: FakeSkaha, env: dict[str, str], args: list[str], runs: int) -> Measure:
    result = Measure(f"canfar {' '.join(args)}", [], [], [])
    _run(server, env, args)  # warm-up: byte code compiled, files cached
    for _ in range(runs):
        seconds, requests, peak, out = _run(server, env, args)
        result.seconds.append(seconds)
        result.requests.append(requests)
        result.concurrency.append(peak)
        result.output = out
    return result


def measure_delete(
    server: FakeSkaha, env: dict[str, str], count: int, runs: int, latency: float
) -> Measure:
    label = f"canfar delete <{count} ids>" + (f" ({latency * 1000:g} ms each)" if latency else "")
    result = Measure(label, [], [], [])
    server.clear_faults()
    if latency:
        server.inject("DELETE", r"/v1/session/", delay=latency, times=None)
    for _ in range(runs):
        ids = [server.add_session(name=f"doomed-{k}") for k in range(count)]
        seconds, requests, peak, out = _run(server, env, ["delete", *ids])
        if sorted(out.split()) != sorted(ids):
            raise SystemExit("delete did not print every id it deleted")
        result.seconds.append(seconds)
        result.requests.append(requests)
        result.concurrency.append(peak)
    server.clear_faults()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000, help="sessions listed by ps")
    parser.add_argument("--deletes", type=int, default=500, help="ids given to one delete")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the server waits per DELETE"
    )
    options = parser.parse_args()

    with FakeSkaha() as server, tempfile.TemporaryDirectory(prefix="canfar-load-") as home:
        env = _environment(server, home)
        for k in range(options.sessions):
            server.add_session(name=f"galaxy-{k}", status="Running", cores=1, ram=4)
        listing = measure_ps(server, env, ["ps"], options.runs)
        as_json = measure_ps(server, env, ["ps", "--json"], options.runs)
        rows = len(listing.output.splitlines()) - 2  # header and rule
        parsed = len(json.loads(as_json.output))
        print(f"fake Skaha service on {server.root}; {options.sessions} running sessions")
        print(listing.line() + f"  ({rows} rows)")
        print(as_json.line() + f"  ({parsed} objects, {len(as_json.output) / 1e6:.1f} MB)")
        server.sessions.clear()
        print(measure_delete(server, env, options.deletes, options.runs, 0.0).line())
        if options.latency:
            latency = options.latency
            print(measure_delete(server, env, options.deletes, options.runs, latency).line())
            serial = options.deletes * latency
            print(f"  (one at a time, {options.deletes} x {latency * 1000:g} ms = {serial:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
