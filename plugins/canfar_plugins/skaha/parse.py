"""Turn the service's JSON into canfar's records, tolerating every server generation.

Current servers omit missing fields and send numbers as strings; servers before 2025 sent the
literal ``<none>``, ``not-applicable`` URLs, ``Succeeded`` for finished sessions and Kubernetes
quantities (``8G``). Memory is reported in GiB, the unit of the ``ram`` request.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from canfar_core.errors import ServerError
from canfar_core.models import Image, PlatformStats, ResourceContext, SessionInfo

BACKEND = "canfar"
_MISSING = ("", "<none>", "none", "null", "not-applicable")
_STATUS_ALIASES = {"succeeded": "Completed"}
_KNOWN = {
    "id",
    "name",
    "type",
    "image",
    "status",
    "userid",
    "startTime",
    "expiryTime",
    "connectURL",
    "requestedCPUCores",
    "requestedRAM",
    "requestedGPUCores",
    "cpuCoresInUse",
    "ramInUse",
}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_UNITS = {
    "": 1e9,
    "g": 1e9,
    "gb": 1e9,
    "gi": 2**30,
    "m": 1e6,
    "mi": 2**20,
    "k": 1e3,
    "ki": 2**10,
    "t": 1e12,
    "ti": 2**40,
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in _MISSING else text


def _float(value: Any) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def gib(value: Any, default_unit: str = "g") -> float | None:
    """A memory amount in GiB: ``"8.59"`` (GB) -> 8.0, ``"32Gi"`` -> 32.0, ``"101M"`` -> 0.09."""
    text = _text(value)
    if text is None:
        return None
    match = _QUANTITY.match(text)
    if match is None:
        return None
    unit = (match.group(2) or default_unit).lower()
    factor = _UNITS.get(unit)
    if factor is None:
        return None
    return round(float(match.group(1)) * factor / 2**30, 2)


def timestamp(value: Any) -> str | None:
    """``2026-01-05T14:03Z`` (seconds left out by Java) -> ``2026-01-05T14:03:00Z``."""
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(value: Any) -> str:
    text = _text(value) or "Pending"
    return _STATUS_ALIASES.get(text.lower(), text)


def session(data: Any) -> SessionInfo:
    """One session object."""
    if not isinstance(data, dict) or not _text(data.get("id")):
        raise ServerError(f"the server sent a session without an id: {str(data)[:80]!r}")
    gpus = _float(data.get("requestedGPUCores"))
    return SessionInfo(
        id=str(data["id"]),
        name=_text(data.get("name")) or "",
        kind=(_text(data.get("type")) or "headless").lower(),
        image=_text(data.get("image")) or "",
        status=status(data.get("status")),
        backend=BACKEND,
        start_time=timestamp(data.get("startTime")),
        expiry_time=timestamp(data.get("expiryTime")),
        connect_url=_text(data.get("connectURL")),
        cores=_float(data.get("requestedCPUCores")),
        ram=gib(data.get("requestedRAM")),
        gpus=None if gpus is None else int(gpus),
        cores_in_use=_float(data.get("cpuCoresInUse")),
        ram_in_use=gib(data.get("ramInUse")),
        user=_text(data.get("userid")),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


def sessions(data: Any) -> list[SessionInfo]:
    if not isinstance(data, list):
        raise ServerError(f"the server sent {type(data).__name__} where a list of sessions belongs")
    return [session(item) for item in data]


def images(data: Any) -> list[Image]:
    if not isinstance(data, list):
        raise ServerError(f"the server sent {type(data).__name__} where a list of images belongs")
    found = []
    for item in data:
        if isinstance(item, str):
            found.append(Image(id=item))
        elif isinstance(item, dict) and item.get("id"):
            types = item.get("types") or []
            found.append(
                Image(
                    id=str(item["id"]),
                    types=[str(t) for t in types] if isinstance(types, list) else [],
                    digest=_text(item.get("digest")),
                )
            )
    return found


def _options(entry: Any) -> list[float]:
    if not isinstance(entry, dict):
        return []
    values = entry.get("options") or []
    found = []
    for value in values if isinstance(values, list) else []:
        number = _float(value)
        if number is not None:
            found.append(number)
    return found


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def resources(data: Any) -> ResourceContext:
    """``GET /context``: the values one session may request."""
    if not isinstance(data, dict):
        raise ServerError(f"the server sent {type(data).__name__} where resource options belong")
    cores, memory = data.get("cores") or {}, data.get("memoryGB") or {}
    gpus = data.get("gpus") or {}
    return ResourceContext(
        cores=_options(cores),
        ram=_options(memory),
        gpus=[int(v) for v in _options(gpus)],
        default_cores=_float(cores.get("default")) if isinstance(cores, dict) else None,
        default_ram=_float(memory.get("default")) if isinstance(memory, dict) else None,
        max_interactive_sessions=_int(data.get("maxInteractiveSessions")),
        extra=dict(data),
    )


def stats(data: Any) -> PlatformStats:
    """``GET /session?view=stats``: cores and memory requested and available."""
    if not isinstance(data, dict):
        raise ServerError(f"the server sent {type(data).__name__} where statistics belong")
    cores, ram = data.get("cores") or {}, data.get("ram") or {}
    if not isinstance(cores, dict) or not isinstance(ram, dict):
        raise ServerError("the server sent statistics without cores and ram")
    instances = data.get("instances") if isinstance(data.get("instances"), dict) else {}
    return PlatformStats(
        cores_requested=_float(cores.get("requestedCPUCores")),
        cores_available=_float(cores.get("cpuCoresAvailable")),
        ram_requested_gb=gib(ram.get("requestedRAM")),
        ram_available_gb=gib(ram.get("ramAvailable")),
        sessions_running=_int(instances.get("total")) if instances else None,
        extra=dict(data),
    )
