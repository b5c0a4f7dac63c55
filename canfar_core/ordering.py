"""The order sessions are listed in, whatever order a backend returns them: by creation time,
then replica number, so that ``canfar ps -q | head -1`` is the oldest job's first replica."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from canfar_core.models import SessionInfo

_REPLICA = re.compile(r"^(?P<job>.*)-(?P<number>\d+)$")
#: Where a session whose start time is unknown (not started yet, or unreadable) goes: last.
_UNKNOWN = datetime.max.replace(tzinfo=timezone.utc)


def _started(value: str | None) -> datetime:
    if not value:
        return _UNKNOWN
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return _UNKNOWN
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _job_and_replica(name: str) -> tuple[str, int]:
    """``fit-12`` as ``("fit", 12)``; a name without a replica number as replica 0."""
    found = _REPLICA.match(name)
    return (found["job"], int(found["number"])) if found else (name, 0)


def natural_order(sessions: Iterable[SessionInfo]) -> list[SessionInfo]:
    """Sessions by creation time, then replica number: a job's replicas stay together, in
    replica order, at the time its first replica started (replicas launched at once may start
    a second apart, in any order). Ties keep a stable order by name and id."""
    listed = list(sessions)
    job_start: dict[str, datetime] = {}
    for session in listed:
        job = _job_and_replica(session.name)[0]
        started = _started(session.start_time)
        if job not in job_start or started < job_start[job]:
            job_start[job] = started

    def key(session: SessionInfo) -> tuple[datetime, str, int, str]:
        job, replica = _job_and_replica(session.name)
        return (job_start[job], job, replica, session.id)

    return sorted(listed, key=key)
