"""Doing one thing to many sessions at once, with a bound: replicas, deletes, renewals, logs.

A helper for backends and commands, built in or third-party. Not imported at start-up: the
code that needs it imports it inside functions.

The work runs in daemon threads while the calling thread waits, so Ctrl-C reaches the caller at
once (as :class:`Interrupted`, naming what was done, what was under way and what was never
started) instead of after every request in flight has timed out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from canfar_core.errors import CanfarError, PermissionDenied

T = TypeVar("T")
R = TypeVar("R")


class Interrupted(KeyboardInterrupt, Generic[T, R]):
    """Ctrl-C arrived while :func:`concurrently` was working.

    ``done`` holds the ``(item, result, error)`` of the items that finished, ``running`` the
    items whose work had started and not finished (a request may have reached the server),
    ``pending`` the items never started. The threads still running are left to finish on their
    own; nothing more is started.
    """

    def __init__(
        self,
        done: list[tuple[T, R | None, CanfarError | None]],
        running: list[T],
        pending: list[T],
    ) -> None:
        super().__init__()
        self.done = done
        self.running = running
        self.pending = pending


def concurrently(
    items: list[T],
    work: Callable[[T], R],
    *,
    limit: int,
    stop_on: tuple[type[BaseException], ...] = (),
) -> list[tuple[T, R | None, CanfarError | None]]:
    """Run ``work`` on each item, at most ``limit`` at a time; ``(item, result, error)`` in
    input order.

    A :class:`~canfar_core.errors.CanfarError` fails its item only. Once an item fails with one
    of ``stop_on`` (credentials refused, server unreachable: every other item would fail the
    same way), items not yet started are not tried; they fail with that same error. A refusal
    of one item (:class:`~canfar_core.errors.PermissionDenied`) never stops the others. Ctrl-C
    raises :class:`Interrupted` at once.
    """
    stopped: list[CanfarError] = []
    outcomes: dict[int, tuple[T, R | None, CanfarError | None]] = {}
    crashes: list[BaseException] = []
    running: set[int] = set()
    lock = threading.Lock()
    finished = threading.Event()
    abandoned = threading.Event()
    cursor = [0]

    def run(item: T) -> tuple[T, R | None, CanfarError | None]:
        if stopped:
            return item, None, stopped[0]
        try:
            return item, work(item), None
        except CanfarError as exc:
            if isinstance(exc, stop_on) and not isinstance(exc, PermissionDenied):
                stopped.append(exc)
            return item, None, exc

    def interrupted() -> Interrupted[T, R]:
        abandoned.set()
        with lock:
            done = [outcomes[i] for i in sorted(outcomes)]
            under_way = [items[i] for i in sorted(running)]
            pending = [items[i] for i in range(cursor[0], len(items))]
        return Interrupted(done, under_way, pending)

    if len(items) <= 1 or limit <= 1:
        for index, item in enumerate(items):
            with lock:
                cursor[0] = index + 1
                running.add(index)
            try:
                outcome = run(item)
            except KeyboardInterrupt:
                raise interrupted() from None
            with lock:
                running.discard(index)
                outcomes[index] = outcome
        return [outcomes[i] for i in range(len(items))]

    def worker() -> None:
        while True:
            with lock:
                if abandoned.is_set() or cursor[0] >= len(items):
                    return
                index = cursor[0]
                cursor[0] += 1
                running.add(index)
            try:
                outcome = run(items[index])
            except BaseException as exc:  # a bug in ``work``: re-raised in the caller
                with lock:
                    crashes.append(exc)
                finished.set()
                return
            with lock:
                running.discard(index)
                outcomes[index] = outcome
                if len(outcomes) == len(items):
                    finished.set()

    for _ in range(min(len(items), limit)):
        threading.Thread(target=worker, daemon=True, name="canfar-worker").start()
    try:
        finished.wait()
    except KeyboardInterrupt:
        raise interrupted() from None
    if crashes:
        abandoned.set()
        raise crashes[0]
    return [outcomes[i] for i in range(len(items))]
