"""How long the local backend takes to launch 100 replicas of a trivial command.

Run it with ``python benchmarks/local_launch.py [--replicas N] [--runs K]``. It prints the median
(and the range) of K launches through the Python API (``Session.create``), and of K runs of the
``canfar create`` command, which adds the interpreter's start-up. State goes to a temporary
folder; every session is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _summary(label: str, seconds: list[float]) -> str:
    median = statistics.median(seconds)
    return (
        f"{label}: median {median * 1000:.0f} ms "
        f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}, {len(seconds)} runs)"
    )


def _canfar() -> list[str]:
    script = Path(sys.executable).with_name("canfar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "canfar_core.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    home = tempfile.mkdtemp(prefix="canfar-bench-")
    for variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[variable] = os.path.join(home, variable.lower())
    os.environ["CANFAR_BACKEND"] = "local"
    from canfar.sessions import Session

    session = Session(backend="local")
    api: list[float] = []
    cli: list[float] = []
    try:
        for _ in range(options.runs):
            started = time.perf_counter()
            ids = session.create(
                image="skaha/astroml:latest", cmd="true", replicas=options.replicas, runtime="host"
            )
            api.append(time.perf_counter() - started)
            session.wait(ids, status=("Completed", "Failed"), timeout=120, poll=0.05)
            session.destroy(ids)
        command = [*_canfar(), "create", "headless", "skaha/astroml:latest", "-q"]
        command += ["-r", str(options.replicas), "--runtime", "host", "--", "true"]
        for _ in range(options.runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            cli.append(time.perf_counter() - started)
            ids = done.stdout.split()
            session.wait(ids, status=("Completed", "Failed"), timeout=120, poll=0.05)
            session.destroy(ids)
    finally:
        leftover = [s.id for s in session.fetch()]
        if leftover:
            session.destroy(leftover)
        shutil.rmtree(home, ignore_errors=True)

    print(f"launching {options.replicas} local replicas of `true` on {os.cpu_count()} CPUs")
    print(_summary("Session.create", api))
    print(_summary("canfar create (whole command)", cli))
    return 0


if __name__ == "__main__":
    sys.exit(main())
