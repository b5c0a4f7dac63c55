"""The built-in ways to share work among replicas: ``chunk`` and ``stripe``.

``canfar.helpers.distributed`` calls them directly on its fast path, and the built-in
``strategies`` plugin registers these very function objects, so ``split(items, "chunk")`` and
``chunk(items)`` run the same code. They live here, outside any plugin, because the fast path
must not import a plugin module (each one imports pluggy for its ``hookimpl`` marker) and must
not depend on a plugin that ``CANFAR_DISABLE_PLUGINS`` can switch off.

Imported by batch replicas, so it imports nothing beyond what the interpreter has already
loaded at start-up (no ``typing`` at run time, no pluggy).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence, Sized
from itertools import islice

from canfar_core.distribution import check_position
from canfar_core.errors import ValidationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["Share", "chunk", "chunk_bounds", "stripe"]


def chunk_bounds(size: int, replica: int, count: int) -> tuple[int, int]:
    """``(start, stop)`` of ``replica``'s contiguous block of ``size`` items among ``count``.

    The first ``size % count`` replicas get one item more than the others, so block sizes differ
    by at most one: 199 items on 100 replicas gives 99 replicas two items and one replica one.
    """
    base, extra = divmod(size, count)
    before = replica - 1
    start = before * base + min(before, extra)
    return start, start + base + (1 if before < extra else 0)


class Share(Sequence["T"]):
    """A replica's share of a sequence: a view, by index, of every ``step``-th position from
    ``start`` up to ``stop``; nothing is copied.

    It has a ``len()``, can be indexed and sliced, and can be iterated any number of times
    (``print(len(list(share)))`` then ``for item in share:`` sees every item both times). It is
    also an iterator: ``next(share)`` walks it once, as the iterators of other strategies do,
    without changing what ``for`` or ``list`` see.
    """

    __slots__ = ("_cursor", "_items", "_positions")

    def __init__(self, items: Sequence[T], positions: range) -> None:
        self._items = items
        self._positions = positions
        self._cursor: Iterator[T] | None = None

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]  # int -> T, slice -> Share
        if isinstance(index, slice):
            return Share(self._items, self._positions[index])
        return self._items[self._positions[index]]

    def __iter__(self) -> Iterator[T]:
        return map(self._items.__getitem__, self._positions)

    def __next__(self) -> T:
        if self._cursor is None:
            self._cursor = iter(self)
        return next(self._cursor)

    def __repr__(self) -> str:
        p = self._positions
        return f"<share of {len(self._items)} items: positions {p.start}:{p.stop}:{p.step}>"


def _by_index(items: Iterable[T]) -> Sequence[T] | None:
    """``items`` if its share can be read by position, else None.

    A Sequence (list, tuple, range, str, a user's lazy list of files) is read by index, so a
    share costs only its own items. A deque is a Sequence whose indexing is O(n): it streams.
    """
    if isinstance(items, Sequence) and not isinstance(items, deque):
        return items
    return None


def _checked(items: Iterable[T], replica: int, count: int) -> Sequence[T] | None:
    """Check the position and the items (see :func:`_check_items`); ``items`` if its share can
    be read by position, else ``None``."""
    check_position(replica, count)
    _check_items(items)
    return _by_index(items)


def _check_items(items: object) -> None:
    # Every replica must see the items in the same order. A set of strings is iterated in an
    # order that changes from process to process (string hashing is salted per process), so
    # its shares would overlap and miss items.
    if isinstance(items, (set, frozenset)):
        raise ValidationError(
            f"cannot share a {type(items).__name__} among replicas: its order differs from "
            "one process to the next; pass sorted(items) instead"
        )


def chunk(items: Iterable[T], replica: int, count: int) -> Iterator[T]:
    """Replica ``replica`` of ``count``: one contiguous block; block sizes differ by at most one.

    The built-in strategy ``chunk``. What it costs depends on ``items``:

    * a list, tuple, ``range`` or other ``Sequence``: a :class:`Share`, a view that reads only
      the share, by index, with constant extra memory (nothing is copied); it has a ``len()``
      and can be iterated more than once;
    * another sized iterable (a dict, a numpy array): one pass up to the end of the share,
      constant extra memory;
    * an unsized iterable (a generator, a file object): the block boundaries depend on the
      total, so the first ``next()`` reads the whole iterable. While reading, it drops every
      item before the point where this replica's block would start if the input ended there
      (that point only moves forward), so replica ``r`` holds at most ``(count - r + 1) /
      count`` of the items at once: the last replica about its share, the first one all of
      them (for 10 million paths of 45 characters, about 1 GiB and a few seconds). Pass a list,
      or use :func:`stripe`, which streams any iterable in constant memory.

    A ``set`` is refused (``ValueError``): its order differs between processes.

    ``items`` must not change while the iterator is used. Raises ``ValueError`` now (not at the
    first ``next()``) for an invalid position, and ``TypeError`` if ``items`` is not iterable.
    """
    sequence = _checked(items, replica, count)
    if sequence is not None:
        start, stop = chunk_bounds(len(sequence), replica, count)
        return Share(sequence, range(start, stop))
    if isinstance(items, Sized):
        start, stop = chunk_bounds(len(items), replica, count)
        return islice(items, start, stop)
    return _chunk_stream(iter(items), replica, count)


#: Items read at a time from an unsized iterable by :func:`chunk`.
STREAM_BATCH = 4096


def _chunk_stream(
    iterator: Iterator[T], replica: int, count: int, batch: int = STREAM_BATCH
) -> Iterator[T]:
    # The block's start for the items read so far never decreases as more are read, so a batch
    # that ends before it can never hold an item of this replica's and is freed at once.
    kept: deque[tuple[int, list[T]]] = deque()  # (index of the batch's first item, its items)
    seen = 0
    while True:
        items = list(islice(iterator, batch))
        if not items:
            break
        kept.append((seen, items))
        seen += len(items)
        start = chunk_bounds(seen, replica, count)[0]
        while kept and kept[0][0] + len(kept[0][1]) <= start:
            kept.popleft()
    start, stop = chunk_bounds(seen, replica, count)
    while kept:
        first, items = kept.popleft()
        low, high = max(start - first, 0), min(stop - first, len(items))
        if low < high:
            yield from items[low:high]


def stripe(items: Iterable[T], replica: int, count: int) -> Iterator[T]:
    """Replica ``replica`` of ``count``: items ``replica-1``, ``replica-1+count``, ... in turn.

    The built-in strategy ``stripe``: item ``i`` (0-based) goes to replica ``i % count + 1``, the
    same assignment as the CANFAR platform's other clients. A ``Sequence`` (list, tuple,
    ``range``, ...) gives a :class:`Share` (a view read by index: only the share is touched; it
    has a ``len()`` and can be iterated more than once), and any other iterable, a generator
    included, is streamed in one pass with constant memory (an iterator, used once). A ``set``
    is refused (``ValueError``): its order differs between processes.

    ``items`` must not change while the iterator is used. Raises ``ValueError`` now (not at the
    first ``next()``) for an invalid position, and ``TypeError`` if ``items`` is not iterable.
    """
    sequence = _checked(items, replica, count)
    if sequence is not None:
        return Share(sequence, range(replica - 1, len(sequence), count))
    return islice(items, replica - 1, None, count)
