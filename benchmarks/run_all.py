#!/usr/bin/env python3
"""Run every benchmark script in this folder in turn (what ``make bench`` does).

A benchmark is any ``benchmarks/*.py`` but this one and names starting with ``_``. Each runs with
this interpreter from the project root, its output shown as it comes; a script that fails does
not stop the others, and the exit status says whether any failed.

    python benchmarks/run_all.py
    python benchmarks/run_all.py --only compare --peer-venv PATH --quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    """The benchmark scripts, in name order."""
    return sorted(
        path
        for path in HERE.glob("*.py")
        if path.name != Path(__file__).name and not path.name.startswith("_")
    )


def arguments_for(script: Path, options: argparse.Namespace) -> list[str]:
    """The options meant for ``script``: the side-by-side comparison takes the peer's venv."""
    if script.stem != "compare":
        return []
    extra = ["--peer-venv", str(options.peer_venv)] if options.peer_venv else []
    return extra + (["--quick"] if options.quick else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [path.stem for path in scripts()]
    parser.add_argument("--only", action="append", choices=names, help="run only this script")
    parser.add_argument("--skip", action="append", choices=names, default=[], help="skip it")
    parser.add_argument("--peer-venv", type=Path, help="for compare.py: the public client's venv")
    parser.add_argument("--quick", action="store_true", help="for compare.py: fewer, smaller runs")
    options = parser.parse_args(argv)

    failed = []
    for script in scripts():
        if (options.only and script.stem not in options.only) or script.stem in options.skip:
            continue
        command = [sys.executable, str(script), *arguments_for(script, options)]
        print(f"\n== {script.relative_to(HERE.parent)}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, cwd=HERE.parent).returncode
        took = time.perf_counter() - started
        print(f"== {script.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {took:.0f} s")
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
