"""``canfar.helpers.distributed`` as the platform client documents it: ``total=``, the
container's ``REPLICA_ID``/``REPLICA_COUNT``, and the snippet that must run every file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from canfar.helpers import distributed

SNIPPET = """
import os
from canfar.helpers import distributed

all_files = [f"file-{n:03d}.fits" for n in range(10)]
done = []
def run_analysis(f):
    done.append(f)

my_files = distributed.chunk(all_files)
print(len(list(my_files)))
for f in my_files:
    run_analysis(f)
print(",".join(done))
"""


@pytest.mark.parametrize(("replica", "expected"), [("1", 3), ("2", 3), ("4", 2)])
def test_the_snippet_processes_every_file_of_the_share(replica, expected, monkeypatch):
    env = {"REPLICA_ID": replica, "REPLICA_COUNT": "4", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SNIPPET)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    counted, processed = done.stdout.splitlines()
    assert int(counted) == expected
    assert len(processed.split(",")) == expected


def test_total_is_the_number_of_replicas():
    items = list(range(12))
    assert list(distributed.stripe(items, replica=2, total=4)) == [1, 5, 9]
    assert list(distributed.chunk(items, replica=4, total=4)) == [9, 10, 11]
    assert list(distributed.chunk(items, 4, 4)) == list(distributed.chunk(items, 4, count=4))


def test_total_and_count_must_agree():
    with pytest.raises(ValueError, match="disagree"):
        distributed.chunk([1, 2], replica=1, total=2, count=3)


@pytest.mark.parametrize("strategy", [distributed.chunk, distributed.stripe])
@pytest.mark.parametrize("items", [list(range(20)), tuple(range(20)), range(20)])
def test_a_share_of_a_sequence_has_a_length_an_index_and_many_passes(strategy, items):
    share = strategy(items, replica=2, total=3)
    first = list(share)
    assert len(share) == len(first) > 0
    assert list(share) == first
    assert share[0] == first[0]
    assert share[-1] == first[-1]
    assert list(share[1:3]) == first[1:3]
    assert next(share) == first[0]
    assert next(share) == first[1]
    assert list(share) == first


def test_a_share_does_not_copy_the_input():
    items = range(10**12)  # a copy would not fit in memory
    share = distributed.chunk(items, replica=3, total=7)
    base = 10**12 // 7  # 10**12 % 7 == 1: only replica 1 has one more
    assert len(share) == base
    assert share[0] == 2 * base + 1


def test_a_generator_is_streamed_once():
    def numbers():
        yield from range(10)

    share = distributed.stripe(numbers(), replica=1, total=3)
    assert list(share) == [0, 3, 6, 9]
    assert list(share) == []


def test_stripe_streams_a_long_generator_in_constant_memory():
    import tracemalloc

    def paths():
        for n in range(300_000):
            yield f"/arc/projects/survey/raw/frame-{n:07d}.fits"

    tracemalloc.start()
    try:
        count = sum(1 for _ in distributed.stripe(paths(), replica=5, total=7))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 300_000 // 7 + (1 if 300_000 % 7 >= 5 else 0)
    assert peak < 1_000_000  # the 300 000 paths take about 25 MB


def test_the_balanced_chunk_and_its_error_are_kept():
    sizes = [len(distributed.chunk(list(range(10)), replica=r, total=4)) for r in range(1, 5)]
    assert sizes == [3, 3, 2, 2]
    with pytest.raises(ValueError, match="replica"):
        distributed.chunk([1, 2, 3], replica=5, total=4)
