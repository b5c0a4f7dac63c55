"""Waiting for sessions to reach a status: :meth:`Session.wait <canfar.sessions.Session.wait>`,
which ``canfar wait``, ``create --wait`` and :meth:`~canfar.sessions.Session.run` use too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from canfar_core import validation as checks
from canfar_core.errors import CanfarError, NotFound, ServerError, ValidationError
from canfar_core.models import ENDED_STATUSES, FINAL_STATUSES, SessionInfo

if TYPE_CHECKING:
    from canfar_core.sessions import IdOrIds, Session, StatusOrStatuses

#: What :meth:`Session.wait` hands its ``progress`` callback on every poll.
Progress = Callable[[dict[str, SessionInfo]], None]
#: Polls in a row that may fail (a server error, no answer) before :meth:`Session.wait` gives up.
WAIT_TRANSIENT_FAILURES = 5


class WaitTimeout(CanfarError, TimeoutError):
    """:meth:`Session.wait` gave up before every session reached the wanted status:
    ``pending`` lists the ids still not there, ``sessions`` the last state of each."""

    def __init__(
        self, message: str, *, pending: list[str], sessions: dict[str, SessionInfo]
    ) -> None:
        super().__init__(message)
        self.pending, self.sessions = pending, sessions


def wait(
    self: Session,
    ids: IdOrIds,
    status: StatusOrStatuses = ("Running", *FINAL_STATUSES),
    timeout: float | None = None,
    poll: float = 2.0,
    progress: Progress | None = None,
) -> dict[str, SessionInfo]:
    """Block until every session has reached one of ``status`` (by default: Running or
    ended), or ``timeout`` seconds pass; the last state of each, by id.

    A session that ends (Completed, Failed, Terminating) counts as arrived whatever
    ``status`` asks for: it will never change again, so check the statuses returned.
    ``progress`` is called with every state after each poll. Raises :class:`WaitTimeout`
    (a :class:`TimeoutError`) naming the sessions not there, and
    :class:`~canfar_core.errors.NotFound` when one disappears. A poll that fails with a
    server error or no answer is tried again; :data:`WAIT_TRANSIENT_FAILURES` in a row end
    the wait with that error.
    """
    checks.check_seconds(timeout=timeout, poll=poll)
    wanted = set(checks.statuses(status) or [])
    if not wanted:
        raise ValidationError("wait needs at least one status to wait for")
    targets = checks.check_ids(ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    current: dict[str, SessionInfo] = {}
    misses = 0
    while True:
        try:
            current, misses = _states(self, targets), 0
        except ServerError:  # a 5xx or no answer: the sessions are still there
            misses += 1
            if misses >= WAIT_TRANSIENT_FAILURES:
                raise
        else:
            if progress is not None:
                progress(current)
            if not _pending(current, wanted):
                return current
        if deadline is not None and time.monotonic() >= deadline:
            pending = _pending(current, wanted) or targets
            raise WaitTimeout(
                f"{len(pending)} session(s) still not {'/'.join(sorted(wanted))} after "
                f"{timeout or 0:g}s: " + ", ".join(pending),
                pending=pending,
                sessions=current,
            )
        left = poll if deadline is None else deadline - time.monotonic()
        time.sleep(max(0.0, min(poll, left)))


def _states(self: Session, targets: list[str]) -> dict[str, SessionInfo]:
    """The current state of every target: one listing for many, ``info`` for the rest."""
    seen: dict[str, SessionInfo] = {}
    if len(targets) > 2:
        seen = {s.id: s for s in self._call(self.backend.list) if s.id in set(targets)}
    for session_id in targets:
        try:
            seen[session_id] = seen.get(session_id) or self._call(self.backend.info, session_id)
        except NotFound:
            raise NotFound(f"session {session_id} no longer exists") from None
    return {session_id: seen[session_id] for session_id in targets}


def _pending(current: dict[str, SessionInfo], wanted: set[str]) -> list[str]:
    """Ids not yet in a wanted status, nor ended (an ended session will never change)."""
    return [
        sid
        for sid, info in current.items()
        if info.status not in wanted and info.status not in ENDED_STATUSES
    ]


__all__ = ["WAIT_TRANSIENT_FAILURES", "Progress", "WaitTimeout", "wait"]
