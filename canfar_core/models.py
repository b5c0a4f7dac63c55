"""Typed records shared by the CLI, the Python API, every backend and every plugin.

They are plain dataclasses: cheap to import, easy to build in a test, and turned into the
documented JSON shapes by :func:`to_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The statuses current CANFAR servers report; the local backend uses the same words.
STATUSES = ("Pending", "Running", "Completed", "Failed", "Terminating")
#: Statuses of a session that still holds resources.
ACTIVE_STATUSES = ("Pending", "Running")
#: Statuses from which a session never moves on.
FINAL_STATUSES = ("Completed", "Failed")


class Strategy(Protocol):
    """A work-distribution strategy: the share of ``items`` that ``replica`` of ``count`` takes.

    ``replica`` is 1-based. Across replicas ``1..count`` the shares must be disjoint, hold every
    item exactly once, and keep input order within a share. Validate eagerly: raise before
    returning the iterator, not at the first ``next()``.
    """

    def __call__(self, items: Iterable[Any], replica: int, count: int) -> Iterator[Any]: ...


@dataclass
class SessionSpec:
    """A request to launch sessions, as plugins see it in ``canfar_prepare_session``.

    Plugins may change any field in place. ``ram`` is in GB (GiB, as the platform means it);
    ``cores`` may be fractional. ``None`` leaves the choice to the backend.
    """

    kind: str = "headless"
    image: str = ""
    name: str = ""
    cmd: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    #: Launch only these replica numbers (1-based) of ``replicas``, to run failed ones again
    #: with the same ``REPLICA_ID``, ``REPLICA_COUNT`` and names; ``None`` launches them all.
    only_replicas: list[int] | None = None
    cores: float | None = None
    ram: float | None = None
    gpus: int | None = None
    backend: str = ""
    #: Backend-specific choices (``runtime`` for local, for example). Unknown keys are ignored.
    options: dict[str, Any] = field(default_factory=dict)

    def replica_numbers(self) -> list[int]:
        """The replica numbers to launch, in order: ``only_replicas``, else ``1..replicas``."""
        if self.only_replicas is None:
            return list(range(1, self.replicas + 1))
        return sorted(self.only_replicas)

    def replica_name(self, replica: int) -> str:
        """The name replica ``replica`` (1-based) gets: ``NAME`` alone, ``NAME-k`` for several."""
        return self.name if self.replicas == 1 else f"{self.name}-{replica}"

    def replica_env(self, replica: int) -> dict[str, str]:
        """The environment of one replica: the user's, then ``REPLICA_ID`` and ``REPLICA_COUNT``."""
        env = dict(self.env)
        env["REPLICA_ID"] = str(replica)
        env["REPLICA_COUNT"] = str(self.replicas)
        return env


@dataclass
class SessionInfo:
    """One session, as every backend reports it. ``--json`` prints :func:`to_dict` of this."""

    id: str
    name: str
    kind: str
    image: str
    status: str
    backend: str
    start_time: str | None = None
    expiry_time: str | None = None
    connect_url: str | None = None
    cores: float | None = None
    ram: float | None = None
    gpus: int | None = None
    cores_in_use: float | None = None
    ram_in_use: float | None = None
    exit_code: int | None = None
    user: str | None = None
    #: Fields the backend knows beyond these (kept verbatim from the server).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LaunchResult:
    """What a backend's ``create`` returns: ids in replica order, and the replicas that failed.

    ``uncertain`` maps replicas whose request was sent but whose fate is unknown (no usable
    answer, and not found when looked for by name) to what happened: they may exist.
    ``not_sent`` lists replicas never sent (they do not exist). A backend that cannot tell fills
    in neither.
    """

    ids: list[str] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)
    uncertain: dict[int, str] = field(default_factory=dict)
    not_sent: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Server:
    """A CANFAR-style service that ``canfar auth login`` can offer."""

    name: str
    url: str
    auth: str = "token"
    description: str = ""


@dataclass(frozen=True)
class SessionKind:
    """A kind of session (notebook, headless, ...).

    ``interactive`` kinds have a URL to open; only kinds that ``accepts_command`` take
    ``cmd``/``args``/``env``; ``max_replicas`` caps replicas (``None`` for no cap of its own).
    """

    name: str
    description: str = ""
    interactive: bool = True
    accepts_command: bool = False
    max_replicas: int | None = None


@dataclass
class Image:
    """A container image a backend offers, with the session kinds it is built for."""

    id: str
    types: list[str] = field(default_factory=list)
    digest: str | None = None


@dataclass
class ResourceContext:
    """The resources a backend offers one session: the ranges it accepts for each request."""

    cores: list[float] = field(default_factory=list)
    ram: list[float] = field(default_factory=list)
    gpus: list[int] = field(default_factory=list)
    default_cores: float | None = None
    default_ram: float | None = None
    max_interactive_sessions: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlatformStats:
    """Cores and memory in use and available where sessions run."""

    cores_requested: float | None = None
    cores_available: float | None = None
    ram_requested_gb: float | None = None
    ram_available_gb: float | None = None
    sessions_running: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuthStatus:
    """What ``canfar auth status`` shows: who, where, and until when."""

    context: str
    server: str
    auth: str
    user: str | None = None
    expires: str | None = None
    valid: bool = True
    detail: str = ""


Register = Callable[..., None]


def to_dict(record: Any) -> dict[str, Any]:
    """The JSON form of a record: its fields, in declaration order."""
    return dataclasses.asdict(record)
