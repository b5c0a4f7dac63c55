"""Whatever the items and the replica count, the shares partition the items.

For every strategy and every kind of input: the shares of replicas 1..count are disjoint, hold
every item exactly once, keep input order, and (chunk) are contiguous blocks whose sizes differ
by at most one, or (stripe) follow item i -> replica i % count + 1.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canfar.helpers import distributed


class Stream:
    """An iterable with no length and no indexing, like a directory listing or a file."""

    def __init__(self, items: list[object]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[object]:
        return iter(self._items)


def _generator(items: list[object]) -> Iterable[object]:
    return (item for item in items)


# Each maker turns a list of distinct labels into the input a user might pass.
MAKERS: dict[str, Callable[[list[object]], Iterable[object]]] = {
    "list": list,
    "tuple": tuple,
    "generator": _generator,
    "iterator": iter,
    "unsized iterable": Stream,
    "deque": deque,
    "dict keys": dict.fromkeys,
}

SHARE: dict[str, Callable[..., Iterator[object]]] = {
    "chunk": distributed.chunk,
    "stripe": distributed.stripe,
    "split chunk": lambda items, r, c: distributed.split(items, "chunk", r, c),
    "split stripe": lambda items, r, c: distributed.split(items, "stripe", r, c),
}

sizes = st.integers(min_value=0, max_value=250)
counts = st.integers(min_value=1, max_value=40)


def shares(way: str, make: Callable[[list[object]], Iterable[object]], size: int, count: int):
    labels: list[object] = [f"file-{i:04d}.fits" for i in range(size)]
    return labels, [list(SHARE[way](make(labels), r, count)) for r in range(1, count + 1)]


@pytest.mark.parametrize("way", SHARE)
@pytest.mark.parametrize("kind", MAKERS)
@settings(max_examples=40, deadline=None)
@given(size=sizes, count=counts)
def test_shares_are_disjoint_cover_everything_and_keep_order(way, kind, size, count):
    labels, parts = shares(way, MAKERS[kind], size, count)
    position = {label: i for i, label in enumerate(labels)}
    seen = [item for part in parts for item in part]
    assert sorted(seen, key=position.__getitem__) == labels  # each item exactly once
    for part in parts:
        indices = [position[item] for item in part]
        assert indices == sorted(indices)  # input order within a share


@pytest.mark.parametrize("kind", MAKERS)
@settings(max_examples=60, deadline=None)
@given(size=sizes, count=counts)
def test_chunk_blocks_are_contiguous_and_differ_by_at_most_one(kind, size, count):
    labels, parts = shares("chunk", MAKERS[kind], size, count)
    assert [item for part in parts for item in part] == labels  # blocks in replica order
    lengths = [len(part) for part in parts]
    assert max(lengths) - min(lengths) <= 1
    assert lengths == sorted(lengths, reverse=True)  # the larger blocks come first


@pytest.mark.parametrize("kind", MAKERS)
@settings(max_examples=60, deadline=None)
@given(size=sizes, count=counts)
def test_stripe_deals_round_robin(kind, size, count):
    labels, parts = shares("stripe", MAKERS[kind], size, count)
    for replica, part in enumerate(parts, start=1):
        assert part == [label for i, label in enumerate(labels) if i % count + 1 == replica]


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.integers(min_value=-3, max_value=3)), count=counts)
def test_duplicate_items_are_kept_as_often_as_given(items, count):
    chunks = [list(distributed.chunk(items, r, count)) for r in range(1, count + 1)]
    stripes = [list(distributed.stripe(items, r, count)) for r in range(1, count + 1)]
    assert [x for part in chunks for x in part] == items
    assert sorted(x for part in stripes for x in part) == sorted(items)


@settings(max_examples=100, deadline=None)
@given(
    start=st.integers(-1000, 1000),
    size=st.integers(0, 500),
    step=st.integers(-7, 7).filter(bool),
    count=counts,
)
def test_ranges_are_shared_like_the_same_list(start, size, step, count):
    numbers = range(start, start + size * step, step)
    for replica in range(1, count + 1):
        assert list(distributed.chunk(numbers, replica, count)) == list(
            distributed.chunk(list(numbers), replica, count)
        )
        assert list(distributed.stripe(numbers, replica, count)) == list(
            distributed.stripe(list(numbers), replica, count)
        )


def test_199_files_on_100_replicas_never_give_one_replica_100():
    files = [f"f{i}.fits" for i in range(199)]
    lengths = [len(list(distributed.chunk(files, r, 100))) for r in range(1, 101)]
    assert lengths == [2] * 99 + [1]


def test_the_seed_workflow_1000_files_on_100_replicas_with_replica_variables(monkeypatch):
    files = [f"/arc/projects/survey/raw/image-{i:04d}.fits" for i in range(1000)]
    monkeypatch.setenv("REPLICA_COUNT", "100")
    chunks, stripes = [], []
    for replica in range(1, 101):
        monkeypatch.setenv("REPLICA_ID", str(replica))
        chunks.append(list(distributed.chunk(files)))
        stripes.append(list(distributed.stripe(files)))
    assert [len(c) for c in chunks] == [10] * 100
    assert [f for c in chunks for f in c] == files
    assert stripes[0][:2] == [files[0], files[100]]
    assert sorted(f for s in stripes for f in s) == files


@settings(max_examples=200, deadline=None)
@given(size=sizes, count=counts, batch=st.integers(min_value=1, max_value=9))
def test_chunk_of_a_stream_drops_batches_without_losing_items(size, count, batch):
    # Small batches make the stream drop items while reading, as 4096-item batches do on
    # millions of paths; the shares must be exactly those of the same items in a list.
    from canfar_plugins._support.shares import _chunk_stream

    labels = [f"file-{i:04d}.fits" for i in range(size)]
    for replica in range(1, count + 1):
        streamed = list(_chunk_stream(iter(labels), replica, count, batch=batch))
        assert streamed == list(distributed.chunk(labels, replica, count))


def test_the_last_replica_of_a_stream_holds_little_more_than_its_share():
    import tracemalloc

    def paths():
        return (f"/arc/projects/survey/image-{i:07d}.fits" for i in range(200_000))

    tracemalloc.start()
    try:
        first = list(distributed.chunk(paths(), 1, 100))
        _, first_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        last = list(distributed.chunk(paths(), 100, 100))
        _, last_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == len(last) == 2_000
    # Replica 1 must read everything before it knows where its block ends; the last replica
    # frees every batch before its block as it reads.
    assert last_peak < first_peak / 10
