"""What a batch replica pays to find its position, under each engine's variables.

Run it with ``python benchmarks/position.py [--runs K] [--python PATH]``. For bare Python
(``python -c pass``), then for ``distributed.position()`` with only one engine's variables set
(CANFAR's ``REPLICA_ID``/``REPLICA_COUNT``, a Slurm job array, a Kubernetes Indexed Job, an AWS
Batch and a Google Cloud Batch array job), it starts a fresh interpreter K times and prints the
median wall time and the median peak resident memory, and both above bare Python. Each run has an
empty ``HOME``, none of the ``CANFAR_*``, ``PYTHON*`` or ``REPLICA_*`` variables of your shell,
and runs outside the project folder (so that ``canfar`` is the installed package).

``--python`` measures another interpreter (for example the README's ``.venv/bin/python``: an
editable install, as in ``.venv-test``, adds an import hook that users never pay for).

Figures only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: Each engine's variables for replica 3 of 4 (``None``: bare Python, the baseline).
CASES: dict[str, dict[str, str] | None] = {
    "bare python": None,
    "REPLICA_ID (canfar)": {"REPLICA_ID": "3", "REPLICA_COUNT": "4"},
    "Slurm job array": {
        "SLURM_ARRAY_TASK_ID": "3",
        "SLURM_ARRAY_TASK_MIN": "1",
        "SLURM_ARRAY_TASK_MAX": "4",
    },
    "Kubernetes Indexed Job": {"JOB_COMPLETION_INDEX": "2", "REPLICA_COUNT": "4"},
    "AWS Batch array job": {"AWS_BATCH_JOB_ARRAY_INDEX": "2", "AWS_BATCH_JOB_ARRAY_SIZE": "4"},
    "Google Cloud Batch": {"BATCH_TASK_INDEX": "2", "BATCH_TASK_COUNT": "4"},
}
PROGRAM = "from canfar.helpers import distributed; distributed.position()"
#: Appended to every program: the peak resident memory of this interpreter alone (the peak
#: ``wait4`` reports would include the memory of the benchmark that forked it).
PEAK = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"


def _environment(home: str, variables: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CANFAR_", "PYTHON", "REPLICA_", "XDG_"))
        and k not in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")
        and k not in ("AWS_BATCH_JOB_ARRAY_INDEX", "BATCH_TASK_INDEX")
    }
    env.update(HOME=home, **variables)
    return env


def run_once(python: str, program: str, env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one fresh interpreter (Linux)."""
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", f"{program}; {PEAK}"], env=env, cwd=cwd, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{program!r} failed: {done.stderr.strip()}")
    return elapsed, int(done.stdout.split()[-1]) / 1024  # kB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per case (median shown)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    options = parser.parse_args(argv)

    print(f"{options.python}, {options.runs} runs per case (medians)")
    print(f"{'case':<26} {'time':>8} {'above bare':>11} {'memory':>10} {'above bare':>11}")
    base_time = base_memory = 0.0
    with tempfile.TemporaryDirectory() as home:
        for label, variables in CASES.items():
            program = "pass" if variables is None else PROGRAM
            env = _environment(home, variables or {})
            runs = [run_once(options.python, program, env, home) for _ in range(options.runs)]
            seconds = statistics.median(r[0] for r in runs)
            memory = statistics.median(r[1] for r in runs)
            if variables is None:
                base_time, base_memory = seconds, memory
            print(
                f"{label:<26} {seconds * 1000:6.0f} ms {(seconds - base_time) * 1000:+8.0f} ms "
                f"{memory:6.1f} MiB {memory - base_memory:+7.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
