"""``balanced``: share files of very different sizes evenly among canfar replicas.

``chunk`` and ``stripe`` give every replica the same *number* of files. When sizes vary a lot (a
few huge mosaics among many small cutouts), the replica that draws the big ones finishes long
after the others. ``balanced`` gives every replica about the same number of *bytes* instead,
with the longest-processing-time-first greedy rule: take the items from the largest to the
smallest and give each to the replica with the least work so far. Its busiest replica never
gets more than 4/3 of the best possible share.

Every replica computes the whole assignment on its own, from the same list, and keeps its
share: no coordination is needed, and the result does not depend on the process (equal sizes
are ordered by input position, equal loads go to the replica with fewer items, then to the
lower replica number). Within a share, items keep their input order.

Once installed, the strategy is available by name::

    from canfar.helpers import distributed

    for path in distributed.split(sorted(glob.glob("data/*.fits")), strategy="balanced"):
        process(path)

or directly, with a size of your own choosing::

    from canfar_balanced import balanced

    for row in balanced(rows, key=lambda row: row.n_pixels):
        process(row)
"""

from __future__ import annotations

import heapq
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from canfar_core import hookimpl
from canfar_core.models import Register

__version__ = "0.1.0"
__all__ = ["assign", "balanced", "default_size", "loads", "shares"]

T = TypeVar("T")
#: A function that gives the size (the expected work) of one item.
SizeKey = Callable[[Any], float]


def default_size(item: Any) -> float:
    """The size of ``item``: a number is its own size; a path is its file's size in bytes."""
    if isinstance(item, bool):
        raise TypeError("a bool is not a size")
    if isinstance(item, (int, float)):
        return item
    if isinstance(item, (str, bytes, os.PathLike)):
        return os.path.getsize(item)
    raise TypeError(f"{type(item).__name__} is neither a path nor a number; pass key=")


def _sizes(items: Sequence[Any], key: SizeKey) -> list[float]:
    sizes: list[float] = []
    for position, item in enumerate(items):
        try:
            size = key(item)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ValueError(
                f"balanced: cannot size item {position} ({item!r}): {reason}"
            ) from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"balanced: cannot size item {position} ({item!r}): {exc}") from None
        if (
            isinstance(size, bool)
            or not isinstance(size, (int, float))
            or not math.isfinite(size)
            or size < 0
        ):
            raise ValueError(
                f"balanced: the size of item {position} ({item!r}) must be a finite number "
                f"of at least 0, not {size!r}"
            )
        sizes.append(size)
    return sizes


def assign(sizes: Sequence[float], count: int) -> list[int]:
    """The replica (1-based) each item goes to, given the items' sizes, for ``count`` replicas.

    Largest first (equal sizes in input order), each to the least-loaded replica (equal loads:
    the one with fewer items, then the lower number).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number of at least 1, not {count!r}")
    order = sorted(range(len(sizes)), key=lambda index: -sizes[index])
    heap: list[tuple[float, int, int]] = [(0, 0, replica) for replica in range(1, count + 1)]
    owners = [0] * len(sizes)
    for index in order:
        load, taken, replica = heapq.heappop(heap)
        owners[index] = replica
        heapq.heappush(heap, (load + sizes[index], taken + 1, replica))
    return owners


def shares(items: Iterable[T], count: int, key: SizeKey | None = None) -> list[list[T]]:
    """Every replica's share at once: ``shares(...)[r - 1]`` is replica ``r``'s, in input order."""
    listed = list(items)
    owners = assign(_sizes(listed, key or default_size), count)
    result: list[list[T]] = [[] for _ in range(count)]
    for item, owner in zip(listed, owners, strict=True):
        result[owner - 1].append(item)
    return result


def loads(items: Iterable[T], count: int, key: SizeKey | None = None) -> list[float]:
    """The total size each replica gets, replica 1 first."""
    size = key or default_size
    return [sum(size(item) for item in share) for share in shares(items, count, size)]


def _position(replica: int | None, count: int | None) -> tuple[int, int]:
    """The checked position: the arguments, else what every canfar strategy reads from the
    environment (``REPLICA_ID`` and ``REPLICA_COUNT``, then plugins)."""
    from canfar.helpers import distributed

    return distributed.position(replica, count)


def balanced(
    items: Iterable[T],
    replica: int | None = None,
    count: int | None = None,
    *,
    key: SizeKey | None = None,
) -> Iterator[T]:
    """The share of ``items`` for ``replica`` (1-based) of ``count``, balanced by size.

    ``key(item)`` gives an item's size (any finite number of at least 0); by default a number is
    its own size and a path (``str`` or :class:`os.PathLike`) is its file's size on disk, so every
    replica must see the same files. With ``replica`` or ``count`` left out, they come from the
    environment as for every canfar strategy (``REPLICA_ID`` and ``REPLICA_COUNT``, then
    plugins). An item that cannot be sized raises :class:`ValueError` naming it, at once.
    """
    replica, count = _position(replica, count)
    return iter(shares(items, count, key)[replica - 1])


@hookimpl
def canfar_register_strategies(register: Register) -> None:
    """Offer ``balanced`` by name to ``distributed.split``."""
    register("balanced", balanced)
