"""Share work among the replicas of a batch job: each replica processes only its part.

Launch one script as many replicas (``canfar create headless IMAGE --replicas 100 -- ...``) and
let each take its share::

    from pathlib import Path
    from canfar.helpers import distributed

    files = sorted(Path("/arc/projects/survey/raw").glob("*.fits"))
    for path in distributed.chunk(files):      # or distributed.stripe(files)
        process(path)

Where the replica number comes from, in this order: the ``replica``/``count`` arguments;
``REPLICA_ID`` (1-based) and ``REPLICA_COUNT``, as the CANFAR platform sets them; an installed
plugin's ``canfar_replica_position`` hook (built in: Slurm, Kubernetes Indexed Jobs, AWS Batch
and Google Cloud Batch array jobs); else this process is replica 1 of 1 and gets everything.
So the same script runs unchanged on a laptop, on CANFAR and on those engines.

Strategies:

* ``chunk``: contiguous blocks whose sizes differ by at most one (199 files on 100 replicas:
  two files each for 99 replicas, one for the last), so neighbouring files stay together;
* ``stripe``: round robin, file ``i`` (0-based) to replica ``i % count + 1``; it streams any
  iterable, a generator included, in constant memory;
* any other strategy an installed plugin registers: ``split(items, strategy="name")``, and
  ``strategies()`` lists them.

``total`` is the number of replicas, as the platform client names it (``count`` is the same).
Over a list, tuple or ``range``, ``chunk`` and ``stripe`` return a view of the share that has a
``len()`` and can be iterated any number of times, so this runs every file::

    my_files = distributed.chunk(all_files)
    print(len(list(my_files)))
    for f in my_files:
        run_analysis(f)

Over a generator or another one-pass iterable they return an iterator (read it once);
``stripe`` streams it in constant memory. Every function checks the position when it is
called, raising ``ValueError`` naming the variable or argument and its bad value.

Importing this module is nearly free: it loads neither the plugin manager nor any plugin.
``chunk`` and ``stripe`` call the built-in strategies in ``canfar_plugins._support.shares``
directly (on first use), the very functions the built-in ``strategies`` plugin registers; this
module does not import ``canfar_plugins.strategies``, because a plugin module imports pluggy and
may be disabled, while the shared helpers are always there. The plugin manager is loaded only
by ``split``, ``strategies``, or when no position is given by argument or ``REPLICA_ID`` and the
hook must be asked.
"""

from __future__ import annotations

import os

from canfar_core.distribution import HOOK, REPLICA_COUNT, REPLICA_ID, check_position, parse_int
from canfar_core.errors import PluginError, ValidationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["chunk", "position", "split", "strategies", "stripe"]


def _count(total: int | None, count: int | None) -> int | None:
    """``total`` (the platform client's name) or ``count`` (ours): the same number."""
    if total is None:
        return count
    if count is not None and count != total:
        raise ValueError(f"total={total!r} and count={count!r} disagree; give one of them")
    return total


def position(
    replica: int | None = None, count: int | None = None, total: int | None = None
) -> tuple[int, int]:
    """This replica's ``(replica, count)``, 1-based, resolved as ``chunk`` and ``stripe`` do.

    Handy for naming outputs: ``f"catalogue-{position()[0]:03d}.fits"``.
    """
    return _resolve(replica, _count(total, count))


def chunk(
    items: Iterable[T],
    replica: int | None = None,
    total: int | None = None,
    *,
    count: int | None = None,
) -> Iterator[T]:
    """This replica's contiguous block of ``items``; block sizes differ by at most one.

    A list, tuple, ``range`` or other sequence gives a view read by index: only the share is
    touched and nothing is copied, so 10 million paths cost nothing extra; it has a ``len()``
    and can be iterated more than once. A generator or other unsized
    iterable must be read to its end first (the block boundaries depend on the total): that
    costs one pass and, at its peak, memory for every item; use :func:`stripe` to stream it.
    """
    from canfar_plugins._support import shares

    replica_, count_ = _resolve(replica, _count(total, count))
    return shares.chunk(items, replica_, count_)


def stripe(
    items: Iterable[T],
    replica: int | None = None,
    total: int | None = None,
    *,
    count: int | None = None,
) -> Iterator[T]:
    """Every ``total``-th item of ``items``, starting at item ``replica - 1`` (round robin).

    Gives exactly the assignment of the CANFAR platform's other clients. A sequence gives a
    view read by index (only the share is touched; ``len()`` and repeated iteration work); any
    other iterable, a generator included, is streamed in one pass with constant memory.
    """
    from canfar_plugins._support import shares

    replica_, count_ = _resolve(replica, _count(total, count))
    return shares.stripe(items, replica_, count_)


def split(
    items: Iterable[T],
    strategy: str = "chunk",
    replica: int | None = None,
    count: int | None = None,
    *,
    total: int | None = None,
) -> Iterator[T]:
    """This replica's share of ``items`` by the registered strategy ``strategy``.

    ``strategy`` is any name :func:`strategies` lists, built in or added by an installed
    plugin; an unknown name is a ``ValueError`` listing the known ones.
    """
    from canfar_core.manager import get_manager

    run = get_manager().registry("strategies").get(strategy)
    replica_, count_ = _resolve(replica, _count(total, count))
    share: Iterator[T] = iter(run(items, replica_, count_))
    return share


def strategies() -> list[str]:
    """The names of every registered strategy, built-in ones first."""
    from canfar_core.manager import get_manager

    return get_manager().registry("strategies").names()


def _ask_plugins(environ: Mapping[str, str]) -> tuple[int, int | None] | None:
    """The first answer of the ``canfar_replica_position`` hook (loads the plugins that may
    answer it: the built-in engines and those the user installed, not the rest)."""
    from canfar_core.manager import position_manager

    answer: tuple[int, int | None] | None = position_manager().hook.canfar_replica_position(
        environ=environ
    )
    return answer


def _given_or_set(
    value: object, argument: str, environ: Mapping[str, str], variable: str
) -> tuple[int | None, str]:
    """The argument if given, else the environment variable (an empty one counts as unset),
    with how the user knows it for messages: ``count=4``, ``REPLICA_COUNT=4``."""
    if value is not None:
        found = parse_int(argument, value)
        return found, f"{argument}={found}"
    raw = environ.get(variable)
    if raw is None or not raw.strip():
        return None, f"{variable}=None"
    found = parse_int(variable, raw)
    return found, f"{variable}={found}"


def _resolve(replica: object = None, count: object = None) -> tuple[int, int]:
    """This process's ``(replica, count)``, validated; ``replica`` is 1-based.

    Each of the two values comes from the first source that has it: the argument, then
    ``REPLICA_ID`` / ``REPLICA_COUNT`` in the environment, then the
    ``canfar_replica_position`` hook, asked only when the replica is still unknown. With no
    source at all, the process is replica 1 of 1. Knowing only one of the two is an error (for
    example ``REPLICA_ID`` without ``REPLICA_COUNT``, or an engine that gives an index but no
    count): guessing there would make one replica process everything.

    The plugin manager is loaded only when the hook is needed. Raises
    :class:`ValidationError` (a ``ValueError``) naming the argument or variable and its value.
    """
    env = os.environ

    found_count, count_said = _given_or_set(count, "count", env, REPLICA_COUNT)
    if found_count is not None:
        check_position(1, found_count, "", count_said)
    found_replica, replica_said = _given_or_set(replica, "replica", env, REPLICA_ID)

    if found_replica is None:
        answer = _ask_plugins(env)
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
    check_position(found_replica, found_count, replica_said, count_said)
    return found_replica, found_count


def _check_answer(answer: object) -> tuple[int, int | None]:
    """A hook answer as ``(replica, count or None)``; anything else is the plugin's bug."""
    if isinstance(answer, (tuple, list)) and len(answer) == 2:
        replica = parse_int(f"{HOOK} replica", answer[0])
        count = None if answer[1] is None else parse_int(f"{HOOK} count", answer[1])
        return replica, count
    raise PluginError(f"{HOOK} returned {answer!r}; a plugin must return (replica, count) or None")
