"""The imbalance script: its figures, and the README that quotes them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from canfar_balanced.imbalance import draw_sizes, ratios, report

README = Path(__file__).resolve().parents[1] / "README.md"


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "canfar_balanced.imbalance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_balanced_beats_stripe_and_chunk_on_skewed_sizes() -> None:
    figures = json.loads(_run("--json"))
    assert [row["distribution"] for row in figures["distributions"]] == ["lognormal", "pareto"]
    for row in figures["distributions"]:
        measured = row["ratios"]
        assert measured["balanced"] < measured["stripe"]
        assert measured["balanced"] < measured["chunk"]
        assert measured["best possible"] <= measured["balanced"]


def test_the_figures_do_not_depend_on_the_process() -> None:
    assert draw_sizes("pareto", 50, seed=7) == draw_sizes("pareto", 50, seed=7)
    assert draw_sizes("pareto", 50, seed=7) != draw_sizes("pareto", 50, seed=8)
    assert _run("--files", "300", "--replicas", "8") == report(300, 8, 2024) + "\n"


def test_a_perfect_split_scores_one() -> None:
    measured = ratios([5] * 64, 8)
    assert measured["balanced"] == measured["stripe"] == measured["best possible"] == 1.0


def test_readme_quotes_what_the_script_prints() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- BEGIN IMBALANCE: [^>]*-->\n```text\n(.*?)```\n<!-- END IMBALANCE -->", text, re.S
    )
    assert found, "the README lost its IMBALANCE block"
    assert found.group(1) == _run(), (
        "README.md's figures are out of date: paste the output of "
        "`python -m canfar_balanced.imbalance` between the IMBALANCE markers"
    )
