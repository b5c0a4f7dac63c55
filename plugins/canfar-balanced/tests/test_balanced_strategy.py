"""The ``balanced`` strategy: the strategy contract, the quality of its shares, its errors."""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from canfar_balanced import assign, balanced, loads, shares
from hypothesis import given, settings
from hypothesis import strategies as st

from canfar.helpers import distributed
from canfar_core import hookimpl

sizes_lists = st.lists(st.integers(min_value=0, max_value=10**12), max_size=60)
counts = st.integers(min_value=1, max_value=12)


def _makespan(sizes: list[int], count: int) -> float:
    """The busiest replica's total under ``balanced``."""
    return max(loads(range(len(sizes)), count, key=sizes.__getitem__))


@settings(max_examples=200, deadline=None)
@given(sizes=sizes_lists, count=counts)
def test_shares_are_disjoint_complete_and_in_input_order(sizes: list[int], count: int) -> None:
    items = list(range(len(sizes)))
    parts = [list(balanced(items, r, count, key=sizes.__getitem__)) for r in range(1, count + 1)]
    assert sorted(itertools.chain.from_iterable(parts)) == items
    assert all(part == sorted(part) for part in parts)


@settings(max_examples=200, deadline=None)
@given(sizes=sizes_lists, count=counts)
def test_busiest_replica_within_grahams_bound(sizes: list[int], count: int) -> None:
    # Every greedy list schedule ends by mean + (1 - 1/m) * largest; LPT must too.
    bound = sum(sizes) / count + (1 - 1 / count) * max(sizes, default=0)
    assert _makespan(sizes, count) <= bound + 1e-9 * max(bound, 1)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=7),
    count=st.integers(min_value=2, max_value=3),
)
def test_within_four_thirds_of_the_optimum(sizes: list[int], count: int) -> None:
    """Longest-processing-time-first is never worse than (4/3 - 1/(3m)) of the best split."""
    optimum = min(
        max(
            sum(s for s, owner in zip(sizes, owners, strict=True) if owner == r)
            for r in range(count)
        )
        for owners in itertools.product(range(count), repeat=len(sizes))
    )
    assert _makespan(sizes, count) <= (4 / 3 - 1 / (3 * count)) * optimum


def test_beats_stripe_when_big_files_line_up() -> None:
    # One big file every fourth position: stripe hands them all to replica 1.
    sizes = [1000 if i % 4 == 0 else 1 for i in range(40)]
    stripe_totals = [sum(distributed.stripe(sizes, r, 4)) for r in range(1, 5)]
    assert max(stripe_totals) == 10 * 1000
    assert max(loads(sizes, 4)) <= 3 * 1000 + 10


def test_largest_first_to_the_least_loaded_replica() -> None:
    # 100 -> 1; 60 -> 2; 50 -> 2 (110); 40 -> 1 (140); 30 -> 2 (140);
    # 20: loads tie, replica 1 has fewer items -> 1.
    assert assign([100, 60, 50, 40, 30, 20], 2) == [1, 2, 2, 1, 2, 1]


def test_equal_sizes_are_dealt_evenly_by_count() -> None:
    for count in (1, 2, 3, 7):
        sizes_of_parts = [len(part) for part in shares([0] * 20, count)]
        assert max(sizes_of_parts) - min(sizes_of_parts) <= 1


def test_more_replicas_than_items_leaves_some_empty() -> None:
    parts = shares([5, 3], 4)
    assert parts == [[5], [3], [], []]
    assert list(balanced([5, 3], 4, 4)) == []


def test_default_size_of_a_path_is_its_file_size(tmp_path: Path) -> None:
    paths = []
    for index, size in enumerate([10, 5000, 20, 4000, 30, 3000]):
        path = tmp_path / f"f{index}.fits"
        path.write_bytes(b"x" * size)
        paths.append(path)
    sizes = [p.stat().st_size for p in paths]
    by_size = shares(range(len(paths)), 2, key=sizes.__getitem__)
    assert shares(paths, 2) == [[paths[i] for i in part] for part in by_size]
    assert [sum(sizes[i] for i in part) for part in by_size] == [5060, 7000]
    # str paths are sized the same way as Path objects
    assert shares([str(p) for p in paths], 2) == [
        [str(p) for p in part] for part in shares(paths, 2)
    ]


def test_key_sets_the_size() -> None:
    # 9 -> 1; 8 -> 2; "b" -> 2 (9); "d": loads tie, replica 1 has fewer items -> 1.
    rows = ["a" * 9, "b", "c" * 8, "d"]
    assert shares(rows, 2, key=len) == [["a" * 9, "d"], ["b", "c" * 8]]
    assert list(balanced(rows, 2, 2, key=len)) == ["b", "c" * 8]


def test_position_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = [7, 1, 5, 3, 9, 2]
    monkeypatch.setenv("REPLICA_ID", "2")
    monkeypatch.setenv("REPLICA_COUNT", "3")
    assert list(balanced(sizes)) == shares(sizes, 3)[1]


def test_registered_and_usable_by_name() -> None:
    sizes = [7, 1, 5, 3, 9, 2]
    assert "balanced" in distributed.strategies()
    for replica in (1, 2, 3):
        assert (
            list(distributed.split(sizes, "balanced", replica, 3)) == shares(sizes, 3)[replica - 1]
        )


def test_a_custom_key_can_be_registered_under_its_own_name(canfar_plugin) -> None:
    class RowsPlugin:
        @hookimpl
        def canfar_register_strategies(self, register):
            register("balanced-by-length", functools.partial(balanced, key=len))

    canfar_plugin(RowsPlugin())
    rows = ["aaaa", "b", "ccc", "dd"]
    parts = [list(distributed.split(rows, "balanced-by-length", r, 2)) for r in (1, 2)]
    assert [sum(map(len, part)) for part in parts] == [5, 5]


@pytest.mark.parametrize(
    ("items", "key", "message"),
    [
        ([1, -2], None, "item 1"),
        ([1, float("nan")], None, "item 1"),
        ([1, True], None, "item 1"),
        ([1, {"a": 1}], None, "neither a path nor a number"),
        (["a", "bb"], lambda item: "big", "item 0"),
    ],
)
def test_an_item_that_cannot_be_sized_is_named(items, key, message) -> None:
    with pytest.raises(ValueError, match=message):
        balanced(items, 1, 2, key=key)


def test_a_missing_file_is_named_before_anything_is_returned(tmp_path: Path) -> None:
    missing = tmp_path / "gone.fits"
    with pytest.raises(ValueError, match=r"gone\.fits"):
        balanced([missing], 1, 1)


@pytest.mark.parametrize(
    ("replica", "count", "named"), [(0, 3, "replica=0"), (4, 3, "replica=4"), (1, 0, "count=0")]
)
def test_a_bad_position_is_refused(replica: int, count: int, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        balanced([1, 2, 3], replica, count)


def test_every_replica_computes_the_same_assignment_in_its_own_process(tmp_path: Path) -> None:
    """Replicas share nothing but the file list: each process must reach the same split."""
    data = tmp_path / "data"
    data.mkdir()
    for index in range(30):
        (data / f"img{index:02d}.fits").write_bytes(b"\0" * ((index * 7919) % 997 + 1))
    script = (
        "import glob, sys\n"
        "from canfar.helpers import distributed\n"
        "for path in distributed.split(sorted(glob.glob(sys.argv[1] + '/*.fits')), 'balanced'):\n"
        "    print(path)\n"
    )
    count = 3
    parts = []
    for replica in range(1, count + 1):
        env = {
            **os.environ,
            "REPLICA_ID": str(replica),
            "REPLICA_COUNT": str(count),
            "PYTHONHASHSEED": str(replica),
        }
        env.pop("CANFAR_DISABLE_PLUGINS", None)
        done = subprocess.run(
            [sys.executable, "-c", script, str(data)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        parts.append(done.stdout.splitlines())
    everything = sorted(str(p) for p in data.glob("*.fits"))
    assert sorted(itertools.chain.from_iterable(parts)) == everything
    assert parts == [[str(p) for p in part] for part in shares(everything, count)]


def test_importing_the_plugin_stays_light() -> None:
    code = (
        "import sys, canfar_balanced\n"
        "heavy = {'json', 'click', 'requests', 'tabulate', 'sqlite3', 'platformdirs'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
