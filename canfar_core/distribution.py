"""Where this process stands among parallel replicas, and the two built-in ways to share work.

A batch job runs the same script as ``count`` replicas; replica ``r`` (1-based) processes only its
share of the items. This module finds ``(replica, count)`` and holds the built-in strategies:

* :func:`resolve_position` reads the position from, in this order: the caller's arguments,
  ``REPLICA_ID``/``REPLICA_COUNT`` (as the CANFAR platform sets them: 1-based), the plugins'
  ``canfar_replica_position`` hook (the plugin manager is loaded only then), else 1 of 1.
  Knowing only one of the two (a replica but no count, or the reverse) is an error.
* :func:`chunk` (contiguous blocks whose sizes differ by at most one) and :func:`stripe` (item
  ``i`` to replica ``i % count + 1``) are the strategies the built-in ``strategies`` plugin
  registers. They live here, in the core, because ``canfar.helpers.distributed`` calls them
  directly on its fast path: that path must not import a plugin module (each one imports pluggy
  for its ``hookimpl`` marker) and must not depend on a plugin that ``CANFAR_DISABLE_PLUGINS``
  can switch off. The plugin registers these very function objects, so ``split(items, "chunk")``
  and ``chunk(items)`` run the same code.

This module is imported by every batch replica, so it imports nothing beyond what the interpreter
has already loaded at start-up (no ``typing`` at run time, no pluggy).
"""

from __future__ import annotations

import operator
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from itertools import islice

from canfar_core.errors import PluginError, ValidationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")
    PositionHook = Callable[[Mapping[str, str]], "tuple[int, int | None] | None"]

#: The variables the CANFAR platform sets in each replica of a headless session.
REPLICA_ID = "REPLICA_ID"
REPLICA_COUNT = "REPLICA_COUNT"
HOOK = "canfar_replica_position"

__all__ = [
    "REPLICA_COUNT",
    "REPLICA_ID",
    "Share",
    "check_position",
    "chunk",
    "chunk_bounds",
    "parse_int",
    "resolve_position",
    "stripe",
]


# -- the replica position --------------------------------------------------------------------


class PositionAnswer(tuple):
    """A ``canfar_replica_position`` answer, ``(replica, count)``, that also says where the
    replica number was read (``source``, e.g. ``"JOB_COMPLETION_INDEX=2"``), so that an error
    names that variable. A plain tuple is an answer too."""

    source: str

    def __new__(cls, replica: int, count: int | None, source: str) -> PositionAnswer:
        answer = super().__new__(cls, (replica, count))
        answer.source = source
        return answer


def parse_int(name: str, value: object) -> int:
    """``value`` as an int; ``name`` is the variable or argument it came from, for the message.

    Accepts an int (or anything with ``__index__``, such as a numpy integer) and a string of
    decimal digits with optional sign and surrounding blanks. A bool, a float or any other text
    is a :class:`ValidationError` (a ``ValueError``) naming ``name`` and ``value``.
    """
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    elif not isinstance(value, bool):
        try:
            return operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise ValidationError(f"{name}={value!r} is not a whole number")


def check_position(
    replica: int, count: int, replica_name: str = "replica", count_name: str = "count"
) -> None:
    """Raise :class:`ValidationError` unless ``1 <= replica <= count``, naming the culprit."""
    _check(replica, count, f"{replica_name}={replica}", f"{count_name}={count}")


def _check(replica: int, count: int, replica_said: str, count_said: str) -> None:
    # ``*_said`` tell where a value came from, as the user knows it: "REPLICA_ID=5".
    if count < 1:
        raise ValidationError(f"{count_said} is not a valid replica count: it must be 1 or more")
    if replica < 1:
        raise ValidationError(
            f"{replica_said} is not a valid replica number: replicas are numbered from 1 "
            f"({REPLICA_ID} is 1-based)"
        )
    if replica > count:
        raise ValidationError(
            f"{replica_said} is out of range: with {count_said}, replicas are numbered 1 to {count}"
        )


def _ask_plugins(environ: Mapping[str, str]) -> tuple[int, int | None] | None:
    """The first answer of the ``canfar_replica_position`` hook (loads the plugins that may
    answer it: the built-in engines and those the user installed, not the rest)."""
    from canfar_core.manager import position_manager

    answer: tuple[int, int | None] | None = position_manager().hook.canfar_replica_position(
        environ=environ
    )
    return answer


def _from_environ(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():  # an empty variable counts as unset
        return None
    return parse_int(name, raw)


def resolve_position(
    replica: object = None,
    count: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    ask_plugins: PositionHook | None = None,
) -> tuple[int, int]:
    """This process's ``(replica, count)``, validated; ``replica`` is 1-based.

    Each of the two values comes from the first source that has it: the argument, then
    ``REPLICA_ID`` / ``REPLICA_COUNT`` in ``environ`` (default ``os.environ``), then the
    ``canfar_replica_position`` hook, asked only when the replica is still unknown. With no
    source at all, the process is replica 1 of 1. Knowing only one of the two is an error (for
    example ``REPLICA_ID`` without ``REPLICA_COUNT``, or an engine that gives an index but no
    count): guessing there would make one replica process everything.

    ``ask_plugins`` replaces the hook call (for tests); by default the plugin manager is loaded
    only when the hook is needed. Raises :class:`ValidationError` (a ``ValueError``) naming the
    argument or variable and its value.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ

    if count is not None:
        found_count: int | None = parse_int("count", count)
        count_said = f"count={found_count}"
    else:
        found_count = _from_environ(env, REPLICA_COUNT)
        count_said = f"{REPLICA_COUNT}={found_count}"
    if found_count is not None:
        _check(1, found_count, "", count_said)

    if replica is not None:
        found_replica: int | None = parse_int("replica", replica)
        replica_said = f"replica={found_replica}"
    else:
        found_replica = _from_environ(env, REPLICA_ID)
        replica_said = f"{REPLICA_ID}={found_replica}"

    if found_replica is None:
        answer = (ask_plugins or _ask_plugins)(env)
        if answer is not None:
            found_replica, hook_count = _check_answer(answer)
            source = getattr(answer, "source", None)
            replica_said = (
                f"{source} (replica {found_replica})"
                if isinstance(source, str) and source
                else f"replica {found_replica} (from the {HOOK} hook)"
            )
            if found_count is None and hook_count is not None:
                found_count = hook_count
                count_said = f"count {found_count} (from the {HOOK} hook)"

    if found_replica is None:
        if found_count is None or found_count == 1:
            return 1, 1
        raise ValidationError(
            f"{count_said} is set but this replica's number is unknown: "
            f"set {REPLICA_ID} (1-based) or pass replica="
        )
    if found_count is None:
        raise ValidationError(
            f"{replica_said} is set but the replica count is unknown: "
            f"set {REPLICA_COUNT} or pass count="
        )
    _check(found_replica, found_count, replica_said, count_said)
    return found_replica, found_count


def _check_answer(answer: object) -> tuple[int, int | None]:
    """A hook answer as ``(replica, count or None)``; anything else is the plugin's bug."""
    if isinstance(answer, (tuple, list)) and len(answer) == 2:
        replica = parse_int(f"{HOOK} replica", answer[0])
        count = None if answer[1] is None else parse_int(f"{HOOK} count", answer[1])
        return replica, count
    raise PluginError(f"{HOOK} returned {answer!r}; a plugin must return (replica, count) or None")


# -- the built-in strategies -----------------------------------------------------------------


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
    check_position(replica, count)
    _check_items(items)
    sequence = _by_index(items)
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
    check_position(replica, count)
    _check_items(items)
    sequence = _by_index(items)
    if sequence is not None:
        return Share(sequence, range(replica - 1, len(sequence), count))
    return islice(items, replica - 1, None, count)
