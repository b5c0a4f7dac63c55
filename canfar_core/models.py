"""Typed records shared by the CLI, the Python API, every backend and every plugin.

They are plain dataclasses: cheap to import, easy to build in a test, and turned into the
documented JSON shapes by :func:`to_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The statuses current CANFAR servers report; the local backend uses the same words.
STATUSES = ("Pending", "Running", "Completed", "Failed", "Terminating")
#: Statuses of a session that still holds resources.
ACTIVE_STATUSES = ("Pending", "Running")
#: Statuses from which a session never moves on.
FINAL_STATUSES = ("Completed", "Failed")
#: Statuses of a session whose processes may still run (a delete under way has not ended it).
LIVE_STATUSES = (*ACTIVE_STATUSES, "Terminating")
#: Statuses after which a session will never be Running again.
ENDED_STATUSES = (*FINAL_STATUSES, "Terminating")


@dataclass(frozen=True)
class CreateOption:
    """An option a plugin adds to ``canfar create`` (``canfar_register_create_options``):
    ``--NAME`` with ``help``, its value of ``type`` (``str``, ``int``, ``float`` or ``bool``,
    a flag) in ``spec.options[NAME]``: the value given, else ``default`` when it is not
    ``None`` (shown in the help)."""

    help: str
    type: type = str
    default: Any = None


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
    #: The values of create options (``runtime`` of the local backend, ``partition`` of Slurm,
    #: a site's own): ``canfar create --NAME``, ``Session.create(options={NAME: value})``.
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


#: The keys of a session as the Skaha service sends it, in the order it sends them.
_KEYS = """id userid runAsUID runAsGID supplementalGroups appid image type status name startTime
expiryTime connectURL requestedRAM requestedCPUCores requestedGPUCores ramInUse cpuCoresInUse
gpuRAMInUse gpuUtilization isFixedResources"""
PLATFORM_KEYS = tuple(_KEYS.split())


class PlatformRecord(dict[str, Any]):
    """A record that is also the service's own dictionary: a real ``dict`` holding the keys
    and values of :meth:`platform_dict` (``json.dumps`` takes it as it is), refreshed whenever
    a field is set, with the typed fields as attributes besides."""

    def platform_dict(self) -> dict[str, Any]:
        """The record as the Skaha service sends it."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ready", True)
        self._refresh()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if self.__dict__.get("_ready"):
            self._refresh()

    def _refresh(self) -> None:
        self.clear()
        self.update(self.platform_dict())


@dataclass(eq=True)
class SessionInfo(PlatformRecord):
    """One session, as every backend reports it. ``--json`` prints :func:`to_dict` of this.

    It also reads as the service's own session object, so code written for the platform's
    dictionaries runs unchanged: ``info["id"]``, ``info.get("startTime")``, ``info["type"]``,
    ``"connectURL" in info``. Those keys are :meth:`platform_dict`'s.
    """

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
    #: A copy kept on this machine of a finished session the server has forgotten.
    kept: bool = False

    def platform_dict(self) -> dict[str, Any]:
        """This session shaped as the Skaha service sends it (``GET /v1/session/{id}``).

        The service's keys and conventions, whichever backend ran it: strings for numbers,
        memory in GB (10^9 bytes) with two decimals, ``requestedRAM`` and
        ``requestedCPUCores`` only for a session that asked for fixed resources,
        ``requestedGPUCores`` always, ``connectURL`` empty when there is nothing to open, and
        times, usage and ids omitted when unknown. ``canfar ps -o json`` prints a list of these.
        """
        ours: dict[str, Any] = {
            "id": self.id,
            "userid": self.user,
            "image": self.image,
            "type": self.kind,
            "status": self.status,
            "name": self.name,
            "startTime": self.start_time,
            "expiryTime": self.expiry_time,
            "connectURL": self.connect_url or "",
            "requestedRAM": _gigabytes(self.ram),
            "requestedCPUCores": _number(self.cores),
            "requestedGPUCores": _number(self.gpus or 0),
            "ramInUse": _gigabytes(self.ram_in_use),
            "cpuCoresInUse": _number(self.cores_in_use),
            "isFixedResources": self.ram is not None,
        }
        shaped: dict[str, Any] = {}
        for key in PLATFORM_KEYS:
            value = self.extra[key] if key in self.extra else ours.get(key)
            if value is not None:
                shaped[key] = value
        return shaped


def _number(value: float | None) -> str | None:
    """A count as the service writes it: ``"2"``, or ``"0.500"`` for a fraction."""
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _gigabytes(gib: float | None) -> str | None:
    """GiB (our unit, the ``ram`` request's) as the service's decimal GB: 8 -> ``"8.59"``."""
    return None if gib is None else f"{gib * 2**30 / 1e9:.2f}"


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


@dataclass(eq=True)
class ResourceContext(PlatformRecord):
    """The resources a backend offers one session: the ranges it accepts for each request.

    It also reads as the service's own record (``GET /v1/context``): ``offer["cores"]``,
    ``offer.get("memoryGB")``, ``offer.get("gpus")``, ``offer.get("maxInteractiveSessions")``;
    those keys are :meth:`platform_dict`'s.
    """

    cores: list[float] = field(default_factory=list)
    ram: list[float] = field(default_factory=list)
    gpus: list[int] = field(default_factory=list)
    default_cores: float | None = None
    default_ram: float | None = None
    max_interactive_sessions: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def platform_dict(self) -> dict[str, Any]:
        """The offer as the service sends it: the server's own record when it came from one,
        else the same shape built from the fields."""
        if isinstance(self.extra.get("cores"), dict):
            return dict(self.extra)
        shaped: dict[str, Any] = {
            "cores": {"default": self.default_cores, "options": list(self.cores)},
            "memoryGB": {"default": self.default_ram, "options": list(self.ram)},
            "gpus": {"options": list(self.gpus)},
        }
        if self.max_interactive_sessions is not None:
            shaped["maxInteractiveSessions"] = self.max_interactive_sessions
        return shaped


@dataclass(eq=True)
class PlatformStats(PlatformRecord):
    """Cores and memory in use and available where sessions run.

    It also reads as the service's own statistics record (``GET /v1/session?view=stats``):
    ``stats["cores"]["requestedCPUCores"]``, ``stats["ram"]["ramAvailable"]``; those keys are
    :meth:`platform_dict`'s.
    """

    cores_requested: float | None = None
    cores_available: float | None = None
    ram_requested_gb: float | None = None
    ram_available_gb: float | None = None
    sessions_running: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def platform_dict(self) -> dict[str, Any]:
        """The statistics as the service sends them: the server's own record when it came from
        one, else the same shape built from the fields (memory as ``"<GB>G"``)."""
        if isinstance(self.extra.get("cores"), dict) and isinstance(self.extra.get("ram"), dict):
            return dict(self.extra)
        shaped: dict[str, Any] = {
            "cores": {
                "requestedCPUCores": self.cores_requested,
                "cpuCoresAvailable": self.cores_available,
            },
            "ram": {
                "requestedRAM": _memory(self.ram_requested_gb),
                "ramAvailable": _memory(self.ram_available_gb),
            },
        }
        if self.sessions_running is not None:
            shaped["instances"] = {"total": self.sessions_running}
        return shaped


def _memory(gib: float | None) -> str | None:
    return None if gib is None else f"{gib * 2**30 / 1e9:.3f}G"


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
