"""Doing one thing to many sessions at once, with a bound: replicas, deletes, renewals, logs.

A helper for backends and commands, built in or third-party. Not imported at start-up: the
code that needs it imports it inside functions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from canfar_core.errors import CanfarError, PermissionDenied

T = TypeVar("T")
R = TypeVar("R")


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
    of one item (:class:`~canfar_core.errors.PermissionDenied`) never stops the others.
    """
    stopped: list[CanfarError] = []

    def run(item: T) -> tuple[T, R | None, CanfarError | None]:
        if stopped:
            return item, None, stopped[0]
        try:
            return item, work(item), None
        except CanfarError as exc:
            if isinstance(exc, stop_on) and not isinstance(exc, PermissionDenied):
                stopped.append(exc)
            return item, None, exc

    if len(items) <= 1 or limit <= 1:
        return [run(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), limit)) as pool:
        return list(pool.map(run, items))
