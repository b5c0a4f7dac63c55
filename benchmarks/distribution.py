"""How much time and memory ``distributed.chunk`` and ``stripe`` cost, and what importing costs.

Each case runs in its own process: it builds the input (file paths, as a list or as a generator),
then times one replica's share being taken and consumed, then measures with tracemalloc the peak
memory allocated *above the input's own memory* while doing it again. For a generator the input
has no memory of its own; its "input only" line is the cost of merely producing the paths.

    python benchmarks/distribution.py                    # 1 M and 10 M items, replica 100 of 100
    python benchmarks/distribution.py --sizes 100000 --count 10 --replica 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import deque
from collections.abc import Iterable, Iterator

PATH = "/arc/projects/survey/raw/image-{:08d}.fits"


def _paths(size: int) -> Iterator[str]:
    return (PATH.format(i) for i in range(size))


def _consume(items: Iterable[object]) -> None:
    deque(items, maxlen=0)


def run_case(size: int, kind: str, strategy: str, replica: int, count: int) -> dict[str, float]:
    """One case, in this process: seconds and peak bytes above the input."""
    from canfar.helpers import distributed

    share = {"chunk": distributed.chunk, "stripe": distributed.stripe, "input only": None}[strategy]
    items: list[str] | None = list(_paths(size)) if kind == "list" else None

    def make() -> Iterable[str]:
        return items if items is not None else _paths(size)

    def once() -> None:
        source = make()
        _consume(source if share is None else share(source, replica=replica, count=count))

    started = time.perf_counter()
    once()
    seconds = time.perf_counter() - started

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    once()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return {"seconds": seconds, "peak_bytes": peak}


def _in_subprocess(size: int, kind: str, strategy: str, replica: int, count: int) -> dict:
    args = [sys.executable, __file__, "--case", json.dumps([size, kind, strategy, replica, count])]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict = json.loads(done.stdout)
    return result


def import_cost(runs: int = 40) -> tuple[float, float]:
    """Median seconds of ``python -c pass`` and of importing ``canfar.helpers.distributed``.

    The two are run in turn, so that a busy machine slows both alike.
    """
    codes = ("pass", "import canfar.helpers.distributed")
    times: dict[str, list[float]] = {code: [] for code in codes}
    for _ in range(runs):
        for code in codes:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[code].append(time.perf_counter() - started)
    return statistics.median(times[codes[0]]), statistics.median(times[codes[1]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--count", type=int, default=100, help="replicas (default 100)")
    parser.add_argument("--replica", type=int, help="which replica's share (default: the last)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.case:
        print(json.dumps(run_case(*json.loads(args.case))))
        return

    bare, imported = import_cost()
    print(
        f"import canfar.helpers.distributed: {imported * 1000:.1f} ms; bare interpreter "
        f"(python -c pass): {bare * 1000:.1f} ms; ratio {imported / bare:.2f}x"
    )
    replica = args.replica or args.count
    print(f"\nreplica {replica} of {args.count}; time to take and consume the share")
    print(
        f"{'items':>12}  {'input':<9}  {'strategy':<10}  {'time (s)':>9}  {'peak above input':>16}"
    )
    for size in args.sizes:
        for kind in ("list", "generator"):
            for strategy in ("input only", "chunk", "stripe"):
                if kind == "list" and strategy == "input only":
                    continue
                result = _in_subprocess(size, kind, strategy, replica, args.count)
                peak = result["peak_bytes"] / 2**10
                print(
                    f"{size:>12,}  {kind:<9}  {strategy:<10}  {result['seconds']:>9.3f}  "
                    f"{peak:>12,.1f} KiB"
                )


if __name__ == "__main__":
    main()
