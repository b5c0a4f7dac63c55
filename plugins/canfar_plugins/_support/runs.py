"""A job run to the end: :meth:`Session.run <canfar.sessions.Session.run>` launches the
replicas, waits with :meth:`~canfar.sessions.Session.wait` and relaunches each replica that
ends Failed, with the same name, ``REPLICA_ID`` and ``REPLICA_COUNT``. A replica is relaunched
only once its attempt is final (Failed), never after it Completed, never when its launch's answer
was lost (it may run), and at most ``retries`` times. ``canfar create --wait --retries`` is this.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from canfar_core.errors import AuthError, CanfarError, LaunchError, NotFound, ValidationError
from canfar_core.models import FINAL_STATUSES, SessionInfo, SessionSpec
from canfar_core.validation import request

if TYPE_CHECKING:
    from canfar.sessions import Session

#: Lines of a failed replica's log its result keeps.
LOG_TAIL_LINES = 20
ENDED = (*FINAL_STATUSES, "Terminating")
#: The status of an attempt whose session no longer exists though its end was never seen.
VANISHED = "Vanished"
GONE = "no longer exists: deleted elsewhere, or forgotten by the server before its end was seen"


@dataclass
class Attempt:
    """One launch of a replica: its session id, and how it ended (``Completed``, ``Failed``,
    ``Terminating``; ``Refused``: not launched, ``reason`` says why; ``Unknown``: the launch's
    answer was lost, so it may run and is never relaunched; ``Vanished``: its session no longer
    exists and no copy was kept, so how it ended is not known and it is never relaunched;
    ``Pending``/``Running``: not over)."""

    id: str | None
    status: str
    exit_code: int | None = None
    reason: str | None = None


@dataclass
class ReplicaResult:
    """What became of one replica: its final ``status`` and ``exit_code`` (its last attempt's),
    every attempt in order, and the last lines of its log when it did not complete."""

    replica: int
    name: str
    attempts: list[Attempt] = field(default_factory=list)
    log_tail: str = ""

    @property
    def id(self) -> str | None:
        return self.attempts[-1].id if self.attempts else None

    @property
    def status(self) -> str:
        return self.attempts[-1].status if self.attempts else "Pending"

    @property
    def exit_code(self) -> int | None:
        return self.attempts[-1].exit_code if self.attempts else None

    @property
    def ok(self) -> bool:
        """Whether the replica finally completed."""
        return self.status == "Completed"

    def to_dict(self) -> dict[str, Any]:
        fields = {"id": self.id, "status": self.status, "exit_code": self.exit_code}
        return {
            "replica": self.replica,
            "name": self.name,
            **fields,
            "retried": len(self.attempts) > 1,
            "attempts": [dataclasses.asdict(a) for a in self.attempts],
            "log_tail": self.log_tail,
        }


class _Relaunch(Exception):
    """From the wait's progress callback: a replica failed and is to be launched again now."""


def run(
    self: Session,
    name: str | SessionSpec | None = None,
    image: str | None = None,
    cores: float | None = None,
    ram: float | None = None,
    kind: str | None = None,
    gpu: int | None = None,
    cmd: str | None = None,
    args: str | Iterable[str] | None = None,
    env: Mapping[str, str] | None = None,
    replicas: int = 1,
    *,
    only_replicas: Iterable[int] | None = None,
    retries: int = 0,
    timeout: float | None = None,
    poll: float = 2.0,
    progress: Callable[[dict[str, SessionInfo]], None] | None = None,
    **options: Any,
) -> list[ReplicaResult]:
    """Launch a job as :meth:`create` does (the same arguments), wait until every replica has
    ended, relaunch each that Failed up to ``retries`` times, and return one
    :class:`~canfar_plugins._support.runs.ReplicaResult` per replica, in replica order.

    A replica is relaunched with its name, ``REPLICA_ID`` and ``REPLICA_COUNT``, once its
    attempt has Failed; never one that completed, nor one whose launch may have happened (its
    answer lost: ``Unknown``). A launch refused whole raises as :meth:`create` with
    ``errors="raise"`` does. A replica whose session no longer exists, its end unseen and no
    copy kept (deleted elsewhere, forgotten by the platform), ends ``Vanished``, not relaunched.
    ``progress`` is called with the current session of every replica after each poll. After
    ``timeout`` seconds, :class:`~canfar.errors.WaitTimeout` is raised with ``results``
    (the replicas as they are) set on it.
    """
    from canfar_core.validation import check_seconds

    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValidationError(f"retries must be a whole number, 0 or more, not {retries!r}")
    check_seconds(timeout=timeout, poll=poll)
    spec = request(
        name, image, cores, ram, kind, gpu, cmd, args, env, replicas, only_replicas, options
    )
    self._prepare(spec)
    return follow(self, spec, retries=retries, timeout=timeout, poll=poll, progress=progress)


def follow(
    self: Session,
    spec: SessionSpec,
    ids: Sequence[str] | None = None,
    *,
    until: Collection[str] = FINAL_STATUSES,
    retries: int = 0,
    timeout: float | None = None,
    poll: float = 2.0,
    progress: Callable[[dict[str, SessionInfo]], None] | None = None,
) -> list[ReplicaResult]:
    """:func:`run` for a prepared ``spec``: launch it, or take ``ids`` (the sessions a launch
    of it already started, in replica order: ``canfar create --wait``), and wait until each
    replica has reached one of ``until`` or ended, relaunching as :func:`run` does."""
    results = {k: ReplicaResult(k, spec.replica_name(k)) for k in spec.replica_numbers()}
    running: dict[str, int] = {}  # session id -> replica number
    latest: dict[int, SessionInfo] = {}
    tails: dict[str, list[str]] = {}  # the last lines of each attempt's log, read as it ended
    deadline = None if timeout is None else time.monotonic() + timeout

    def again(k: int) -> bool:
        return results[k].status in ("Failed", "Refused") and len(results[k].attempts) <= retries

    def launch(numbers: list[int]) -> None:
        failures: dict[int, str] = {}
        uncertain: dict[int, str] = {}
        try:
            ids = self._launch(dataclasses.replace(spec, only_replicas=numbers))
        except LaunchError as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            ids, failures, uncertain = list(exc.ids), dict(exc.failures), dict(exc.uncertain)
        except (AuthError, ValidationError, KeyboardInterrupt):
            raise
        except CanfarError as exc:  # refused whole: the first time, as create says it
            if not any(r.attempts for r in results.values()):
                raise
            ids, failures = [], dict.fromkeys(numbers, str(exc))
        launched = [k for k in numbers if k not in failures and k not in uncertain]
        for k, session_id in zip(launched, ids, strict=False):
            running[session_id] = k
            results[k].attempts.append(Attempt(session_id, "Pending"))
        for k, reason in failures.items():
            results[k].attempts.append(Attempt(None, "Refused", reason=reason))
        for k, reason in uncertain.items():
            results[k].attempts.append(Attempt(None, "Unknown", reason=reason))

    def seen(states: dict[str, SessionInfo]) -> None:
        ended = [sid for sid, state in states.items() if state.status in ENDED and sid not in tails]
        texts = (self.logs(ended, errors="ignore") or {}) if ended else {}  # a journal keeps them
        tails.update({sid: texts.get(sid, "").splitlines()[-LOG_TAIL_LINES:] for sid in ended})
        for session_id, state in states.items():
            k = running[session_id]
            latest[k], attempt = state, results[k].attempts[-1]
            attempt.status, attempt.exit_code = state.status, state.exit_code
            attempt.reason = attempt.reason or state.extra.get("reason")
        if progress is not None:
            progress({s.id: s for _, s in sorted(latest.items())})
        if any(state.status == "Failed" and again(running[sid]) for sid, state in states.items()):
            raise _Relaunch

    def vanished() -> None:
        for session_id, k in running.items():
            try:
                self._call(self.backend.info, session_id)  # a kept copy answers for a forgotten one
            except NotFound:
                attempt = results[k].attempts[-1]
                attempt.status, attempt.reason = VANISHED, GONE
                if k in latest:
                    latest[k] = dataclasses.replace(latest[k], status=VANISHED)
            except CanfarError:  # not known to be gone: the next poll sees
                pass

    todo = list(results)
    if ids is not None:  # launched already
        for k, session_id in zip(todo, ids, strict=True):
            running[session_id] = k
            results[k].attempts.append(Attempt(session_id, "Pending"))
        todo = []
    while todo or running:
        while todo:
            launch(todo)
            todo = [k for k in todo if results[k].status == "Refused" and again(k)]
        if not running:
            break
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self.wait(list(running), tuple(until), timeout=left, poll=poll, progress=seen)
        except _Relaunch:
            pass
        except NotFound:  # one session is gone: which, and the others waited for still
            vanished()
        except TimeoutError as exc:
            exc.results = list(results.values())  # type: ignore[attr-defined]
            raise
        for session_id, k in list(running.items()):
            if results[k].status in (*ENDED, VANISHED, *until):
                del running[session_id]
                if again(k):
                    todo.append(k)
    for result in results.values():
        result.log_tail = "" if result.ok else "\n".join(tails.get(str(result.id), []))
    return list(results.values())


__all__ = ["LOG_TAIL_LINES", "VANISHED", "Attempt", "ReplicaResult", "follow", "run"]
