"""Measure how unevenly ``stripe``, ``chunk`` and ``balanced`` share skewed file sizes.

Run ``python -m canfar_balanced.imbalance`` (``--help`` for the knobs). Sizes are drawn from a
lognormal and a Pareto distribution with a fixed seed, so the figures are the same on every
machine. For each strategy it prints the busiest replica's total size over the mean total size
(``max/mean``; 1.00 is perfect: the whole run waits for the busiest replica) and the lower bound
no strategy can beat (the largest file alone, or the mean, whichever is bigger).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any

#: name -> (description, draw one size from a seeded generator)
DISTRIBUTIONS: dict[str, tuple[str, Callable[[random.Random], float]]] = {
    "lognormal": (
        "lognormal, median 50 MB, sigma 1.5",
        lambda rng: 50e6 * rng.lognormvariate(0, 1.5),
    ),
    "pareto": ("Pareto, alpha 1.2, minimum 10 MB", lambda rng: 10e6 * rng.paretovariate(1.2)),
}
STRATEGIES = ("stripe", "chunk", "balanced")


def draw_sizes(distribution: str, files: int, seed: int) -> list[int]:
    """``files`` file sizes in bytes, the same for the same arguments on every machine."""
    rng = random.Random(seed)
    draw = DISTRIBUTIONS[distribution][1]
    return [max(1, round(draw(rng))) for _ in range(files)]


def ratios(
    sizes: Sequence[int], replicas: int, strategies: Sequence[str] = STRATEGIES
) -> dict[str, float]:
    """``max/mean`` of the replicas' total sizes for each strategy, as canfar runs it by name."""
    from canfar_core.manager import get_manager

    registry = get_manager().registry("strategies")
    mean = sum(sizes) / replicas
    result: dict[str, float] = {}
    for name in strategies:
        strategy = registry.get(name)
        totals = [
            sum(strategy(list(sizes), replica, replicas)) for replica in range(1, replicas + 1)
        ]
        if sum(totals) != sum(sizes):
            raise RuntimeError(f"strategy {name} lost or repeated items")
        result[name] = max(totals) / mean
    result["best possible"] = max(max(sizes), mean) / mean
    return result


def measure(files: int, replicas: int, seed: int) -> list[dict[str, Any]]:
    """One row per distribution: its description and each strategy's ``max/mean``."""
    rows = []
    for name, (description, _) in DISTRIBUTIONS.items():
        sizes = draw_sizes(name, files, seed)
        rows.append(
            {"distribution": name, "description": description, "ratios": ratios(sizes, replicas)}
        )
    return rows


def report(files: int, replicas: int, seed: int) -> str:
    """The table the README shows, for these arguments."""
    lines = [
        f"{files} files shared among {replicas} replicas (seed {seed}); "
        "busiest replica's bytes / mean replica's bytes",
        "",
    ]
    header = ["distribution", *STRATEGIES, "best possible"]
    widths = [max(len(header[0]), *(len(name) for name in DISTRIBUTIONS))] + [
        len(title) for title in header[1:]
    ]
    lines.append(
        "  ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)).rstrip()
    )
    for row in measure(files, replicas, seed):
        cells = [row["distribution"], *(f"{row['ratios'][name]:.3f}" for name in header[1:])]
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        )
    lines.append("")
    for name, (description, _) in DISTRIBUTIONS.items():
        lines.append(f"{name}: {description}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m canfar_balanced.imbalance", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--files", type=int, default=2000, help="number of files (2000)")
    parser.add_argument("--replicas", type=int, default=16, help="number of replicas (16)")
    parser.add_argument("--seed", type=int, default=2024, help="random seed (2024)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.files < 1 or args.replicas < 1:
        parser.error("--files and --replicas must be at least 1")
    if args.json:
        import json

        rows = measure(args.files, args.replicas, args.seed)
        print(
            json.dumps(
                {
                    "files": args.files,
                    "replicas": args.replicas,
                    "seed": args.seed,
                    "distributions": rows,
                },
                indent=2,
            )
        )
    else:
        print(report(args.files, args.replicas, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
