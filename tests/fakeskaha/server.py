"""A fake Skaha session service: a real HTTP server on loopback, built from the API reference.

It serves the same paths as the platform (``/skaha/v1/session``, ``/skaha/v1/image``,
``/skaha/v1/context``, ``/skaha/v1/repository``, ``/skaha/capabilities``,
``/skaha/availability``), reads parameters from the query string and from a form body, checks
them in the server's order with its exact messages, answers errors as ``text/plain`` and sessions
as JSON shaped like the real service's (nulls omitted, numbers as strings, names lower-cased).

Tests drive it through its Python methods:

* every request received is recorded (:attr:`FakeSkaha.requests`);
* :meth:`FakeSkaha.inject` makes chosen requests fail (a status, a delay, a reset connection, a
  truncated body);
* sessions move Pending -> Running -> Completed with time (:attr:`FakeSkaha.pending_seconds`,
  :attr:`FakeSkaha.run_seconds`), or when a test says so (:meth:`FakeSkaha.set_status`,
  :meth:`FakeSkaha.advance`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import random
import re
import socket
import string
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

#: The token the fake knows out of the box, and whose user it is.
DEFAULT_TOKEN = "fake-token-jdoe"
DEFAULT_USER = "jdoe"

#: Types the create parser accepts (``desktop-app`` parses but cannot be launched).
SESSION_TYPES = (
    "notebook",
    "desktop",
    "carta",
    "contributed",
    "firefly",
    "headless",
    "desktop-app",
)
IMAGE_TYPES = ("carta", "notebook", "desktop", "contributed", "headless", "firefly", "desktop-app")
ACTIVE = ("Pending", "Running")
FINAL = ("Completed", "Failed")

#: The Helm chart's default resource file, as ``GET /v1/context`` passes it through.
DEFAULT_CONTEXT: dict[str, Any] = {
    "cores": {"default": 2, "defaultRequest": 1, "defaultLimit": 8, "options": list(range(1, 17))},
    "memoryGB": {
        "default": 8,
        "defaultRequest": 4,
        "defaultLimit": 32,
        "options": [
            1,
            2,
            4,
            6,
            8,
            10,
            12,
            14,
            16,
            20,
            24,
            26,
            28,
            30,
            32,
            36,
            40,
            44,
            48,
            56,
            64,
            80,
            92,
            112,
            128,
            140,
            170,
            192,
        ],
    },
    "gpus": {"options": list(range(1, 29))},
    "maxInteractiveSessions": "5",
}

DEFAULT_IMAGES: list[dict[str, Any]] = [
    {"id": "images.canfar.net/skaha/astroml:latest", "types": ["notebook", "headless"]},
    {"id": "images.canfar.net/skaha/terminal:1.1.2", "types": ["headless"]},
    {"id": "images.canfar.net/skaha/base-notebook:latest", "types": ["notebook"]},
    {"id": "images.canfar.net/skaha/desktop:latest", "types": ["desktop"]},
    {"id": "images.canfar.net/skaha/carta:4.1", "types": ["carta"]},
    {"id": "images.canfar.net/skaha/firefly:2025.1", "types": ["firefly"]},
    {"id": "images.canfar.net/skaha/marimo:latest", "types": ["contributed"]},
]
for _image in DEFAULT_IMAGES:
    _image["digest"] = "sha256:" + hashlib.sha256(_image["id"].encode()).hexdigest()

#: Lifetimes from the launch templates and the chart (seconds).
HEADLESS_DEADLINE = 1_209_600
INTERACTIVE_DEADLINE = 345_600
HEADLESS_TTL = 3_600
INTERACTIVE_TTL = 86_400

_NAME = re.compile(r"[A-Za-z0-9-]+")
_ID_FIRST = string.ascii_lowercase
_ID_REST = string.ascii_lowercase + string.digits

_CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" \
xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{root}/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#availability">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{root}/availability</accessURL>
    </interface>
  </capability>
{platform}</vosi:capabilities>
"""
_PLATFORM_CAPABILITY = """  <capability standardID="{standard}">
{interfaces}  </capability>
"""
_INTERFACE = """    <interface xsi:type="vs:ParamHTTP" role="std" version="1.0">
      <accessURL use="base">{url}</accessURL>
      <securityMethod standardID="{method}"/>
    </interface>
"""
_SECURITY = {
    "cookie": "ivo://ivoa.net/sso#cookie",
    "x509": "ivo://ivoa.net/sso#tls-with-certificate",
    "token": "ivo://ivoa.net/sso#token",
}
_AVAILABILITY = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">
  <vosi:available>{available}</vosi:available>
  <vosi:note>{note}</vosi:note>
</vosi:availability>
"""


# -- records ----------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    #: The path as sent (still percent-encoded), without the query string.
    raw_path: str
    #: The decoded path the server routed on.
    path: str
    query: str
    #: Every parameter the server read (query string, then form body), in order.
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    time: float = 0.0

    def param(self, name: str) -> str | None:
        """The first value of parameter ``name`` (``None`` when absent), as the server reads it."""
        for key, value in self.params:
            if key == name:
                return value
        return None

    def values(self, name: str) -> list[str]:
        """Every value of parameter ``name``, in order (``env`` repeats)."""
        return [value for key, value in self.params if key == name]

    def names(self) -> set[str]:
        """The names of every parameter sent."""
        return {key for key, _ in self.params}

    def header(self, name: str) -> str | None:
        """A request header, looked up without regard to case."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Fault:
    """A planned misbehaviour for requests matching ``method`` and ``path`` (a regex)."""

    method: str | None
    pattern: re.Pattern[str]
    status: int | None = None
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    content_type: str = "text/plain"
    delay: float = 0.0
    reset: bool = False
    truncate: bool = False
    delay_after: float = 0.0
    reset_after: bool = False
    trickle: float = 0.0
    trickle_size: int = 1
    #: How many requests this fault has hit so far.
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.pattern.search(path) is not None


@dataclass
class FakeSession:
    """One session the fake holds."""

    id: str
    userid: str
    type: str
    image: str
    name: str
    created: float
    cores: str | None = None
    ram: str | None = None
    gpus: int = 0
    cmd: str | None = None
    args: list[str] | None = None
    env: list[tuple[str, str]] = field(default_factory=list)
    run_seconds: float | None = None
    outcome: str = "Completed"
    forced_status: str | None = None
    forced_at: float | None = None
    queued: bool = False
    deadline: float = HEADLESS_DEADLINE
    logs: str = ""
    deleted: bool = False
    appid: str | None = None
    _encoded_logs: tuple[str, bytes] | None = field(default=None, repr=False, compare=False)

    def logs_bytes(self) -> bytes:
        """The log as the service sends it, encoded once per text: a big log is not copied on
        every request (a test measuring the client's memory sees the client's copies only)."""
        if self._encoded_logs is None or self._encoded_logs[0] is not self.logs:
            self._encoded_logs = (self.logs, self.logs.encode())
        return self._encoded_logs[1]


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


class SkahaError(Exception):
    """Raised inside handlers: becomes a ``text/plain`` error answer."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        newline: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message + ("\n" if newline else "")
        self.headers = headers or {}


# -- formatting helpers -----------------------------------------------------------------------


def java_split(text: str, sep: str) -> list[str]:
    """``String.split`` as Java does it for a literal separator: trailing empty pieces dropped."""
    if text == "":
        return [""]
    pieces = text.split(sep)
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


def offset_date_time(moment: float) -> str:
    """Java ``OffsetDateTime.toString()`` in UTC: seconds left out when they are zero."""
    stamp = datetime.fromtimestamp(int(moment), tz=timezone.utc)
    if stamp.second == 0:
        return stamp.strftime("%Y-%m-%dT%H:%MZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def instant(moment: float) -> str:
    """Java ``Instant.toString()``: always with seconds."""
    return datetime.fromtimestamp(int(moment), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _java_number(text: str) -> float:
    """``Double.parseDouble``: surrounding blanks allowed, no NaN or infinity from users."""
    value = float(text.strip())
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _cores_text(cores: float) -> str:
    return str(int(cores)) if cores == int(cores) else f"{cores:.3f}"


# -- the server -------------------------------------------------------------------------------


class FakeSkaha:
    """A fake Skaha service on ``127.0.0.1`` (see the module docstring).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with FakeSkaha() as server:
            Session(url=server.url, token=server.token).fetch()
    """

    def __init__(
        self,
        *,
        tokens: dict[str, str] | None = None,
        registries: Iterable[str] = ("images.canfar.net",),
        images: list[dict[str, Any]] | None = None,
        context: dict[str, Any] | None = None,
        pending_seconds: float = 0.0,
        run_seconds: float | None = None,
        security: Iterable[str] = ("cookie", "x509", "token"),
    ) -> None:
        #: Bearer tokens the fake accepts, each with its user's name.
        self.tokens: dict[str, str] = dict(tokens or {DEFAULT_TOKEN: DEFAULT_USER})
        #: Asked for tokens not in :attr:`tokens` (an OIDC issuer's, say): the user, or None.
        self.validator: Callable[[str], str | None] | None = None
        #: Users who authenticate but are not members of the platform's users group (403).
        self.forbidden: set[str] = set()
        #: Answer requests without credentials with the 1.3+ quirk (400) instead of 401.
        self.anonymous_400 = False
        #: Old servers answered DELETE of an unknown id with 404 ``<id>``.
        self.legacy_delete = False
        self.registries = list(registries)
        self.images: list[dict[str, Any]] = [dict(i) for i in (images or DEFAULT_IMAGES)]
        self.context: dict[str, Any] = json.loads(json.dumps(context or DEFAULT_CONTEXT))
        #: Seconds a new session stays Pending, then Running.
        self.pending_seconds = pending_seconds
        #: Seconds a headless session runs before it completes (``None``: it runs on).
        self.run_seconds = run_seconds
        #: How each launch of a headless session NAME ends, in order: ``{"fit-2": ["Failed",
        #: "Completed"]}`` fails its first launch and completes the next; the last one repeats.
        #: A scripted session's log says how it ended (``fit-2: Failed``).
        self.outcomes: dict[str, list[str]] = {}
        #: Seconds after which a finished headless session is gone, log and all (the
        #: platform's ``ttlSecondsAfterFinished``).
        self.headless_ttl: float = HEADLESS_TTL
        #: Why a pending session waits, as its events say (a FailedScheduling message).
        self.pending_reason: str | None = None
        #: The platform statistics backend is down: ``view=stats`` answers 503.
        self.stats_outage = False
        self.available = True
        self.gpu_enabled = True
        self.security = list(security)
        #: Interactive lifetime renew extends to (the chart's ``skaha.sessionexpiry``).
        self.session_expiry = INTERACTIVE_DEADLINE
        self.max_user_sessions = int(self.context.get("maxInteractiveSessions", 5))

        #: URI this service is registered under in the fake registry (``/reg/resource-caps``).
        self.uri = "ivo://fake.example.org/skaha"
        #: Extra ``(uri, capabilities URL)`` records the fake registry lists.
        self.registry_records: list[tuple[str, str]] = []
        #: Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.max_in_flight = 0

        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.sessions: dict[str, FakeSession] = {}
        self._uids: dict[str, int] = {}
        self._offset = 0.0
        self._lock = threading.RLock()
        self._random = random.Random()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle of the server itself --------------------------------------------------

    def start(self) -> FakeSkaha:
        """Listen on a free loopback port and serve in a background thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeSkaha:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the fake is not started"
        return int(self._httpd.server_address[1])

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The service root without the API version: ``http://127.0.0.1:PORT/skaha``."""
        return f"{self.root}/skaha"

    @property
    def api(self) -> str:
        """The versioned API root the client speaks: ``.../skaha/v1``."""
        return f"{self.url}/v1"

    @property
    def registry_url(self) -> str:
        """An IVOA registry ``resource-caps`` file listing this service (and
        :attr:`registry_records`)."""
        return f"{self.root}/reg/resource-caps"

    @property
    def token(self) -> str:
        """A token the fake accepts (the first one)."""
        return next(iter(self.tokens))

    @property
    def user(self) -> str:
        return self.tokens[self.token]

    # -- control from tests ------------------------------------------------------------------

    def now(self) -> float:
        """The fake's clock: real time plus whatever :meth:`advance` added."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (sessions age, finish and vanish accordingly)."""
        with self._lock:
            self._offset += seconds

    def inject(
        self,
        method: str | None,
        path: str,
        status: int | None = None,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        content_type: str = "text/plain",
        delay: float = 0.0,
        reset: bool = False,
        truncate: bool = False,
        delay_after: float = 0.0,
        reset_after: bool = False,
        trickle: float = 0.0,
        trickle_size: int = 1,
    ) -> Fault:
        """Make the next ``times`` requests (``None``: all) matching ``method`` and the regex
        ``path`` (searched in the decoded path, query string excluded) misbehave.

        ``status`` (with ``body``, ``headers``, ``content_type``) replaces the answer; ``body``
        alone answers 200 with it. ``delay`` waits that long first (then answers normally if
        nothing else is asked); ``reset`` closes the connection without an answer; ``truncate``
        sends the answer's headers and only half its body. ``delay_after`` and ``reset_after``
        do the same after the request was carried out (a create that happened, whose answer is
        late or lost); ``trickle`` sends the answer one byte (``trickle_size`` bytes) every that
        many seconds. Faults are tried in the order added.
        """
        fault = Fault(
            method=method,
            pattern=re.compile(path),
            status=status,
            times=times,
            headers=dict(headers or {}),
            body=body,
            content_type=content_type,
            delay=delay,
            reset=reset,
            truncate=truncate,
            delay_after=delay_after,
            reset_after=reset_after,
            trickle=trickle,
            trickle_size=trickle_size,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests with this method and whose path matches the regex ``path``."""
        with self._lock:
            found = list(self.requests)
        return [
            r
            for r in found
            if (method is None or r.method == method.upper())
            and (path is None or re.search(path, r.path))
        ]

    def add_session(
        self,
        *,
        user: str | None = None,
        type: str = "headless",
        name: str = "job",
        image: str = "images.canfar.net/skaha/astroml:latest",
        status: str | None = None,
        cores: float | None = None,
        ram: float | None = None,
        gpus: int = 0,
        env: dict[str, str] | None = None,
        logs: str = "",
        age: float = 0.0,
    ) -> str:
        """Put a session in place without a request (to seed thousands quickly); returns its id."""
        session = FakeSession(
            id=self._new_id(),
            userid=user or self.user,
            type=type,
            image=image,
            name=name.lower()[:63],
            created=self.now() - age,
            cores=None if cores is None else _cores_text(cores),
            ram=None if ram is None else f"{ram:g}",
            gpus=gpus,
            env=list((env or {}).items()),
            run_seconds=self.run_seconds if type == "headless" else None,
            deadline=HEADLESS_DEADLINE if type == "headless" else INTERACTIVE_DEADLINE,
            logs=logs,
        )
        session.logs_bytes()  # encoded now, not while a test measures the client
        if status is not None:
            session.forced_status = status
            session.forced_at = self.now()
        with self._lock:
            self.sessions[session.id] = session
        return session.id

    def set_status(self, session_id: str, status: str) -> None:
        """Force a session into ``status`` from now on."""
        with self._lock:
            session = self.sessions[session_id]
            session.forced_status = status
            session.forced_at = self.now()

    def set_logs(self, session_id: str, text: str) -> None:
        with self._lock:
            self.sessions[session_id].logs = text

    def append_logs(self, session_id: str, text: str) -> None:
        with self._lock:
            self.sessions[session_id].logs += text

    def status_of(self, session_id: str) -> str:
        with self._lock:
            return self._status(self.sessions[session_id], self.now())

    def live_sessions(self, user: str | None = None) -> list[FakeSession]:
        """Sessions a listing would show now (not deleted, not garbage-collected)."""
        with self._lock:
            now = self.now()
            return [
                s
                for s in self.sessions.values()
                if self._visible(s, now) and (user is None or s.userid == user)
            ]

    # -- the model -----------------------------------------------------------------------

    def _new_id(self) -> str:
        with self._lock:
            while True:
                new = self._random.choice(_ID_FIRST) + "".join(
                    self._random.choice(_ID_REST) for _ in range(7)
                )
                if new not in self.sessions:
                    return new

    def _uid(self, user: str) -> int:
        with self._lock:
            return self._uids.setdefault(user, 20001 + len(self._uids))

    def _timeline(self, session: FakeSession, now: float) -> tuple[str, float | None]:
        """(status, when it became final or None)."""
        if session.forced_status is not None:
            final_at = session.forced_at if session.forced_status in FINAL else None
            return session.forced_status, final_at
        elapsed = now - session.created
        if elapsed < self.pending_seconds:
            return "Pending", None
        started = session.created + self.pending_seconds
        if session.run_seconds is not None and now >= started + session.run_seconds:
            return session.outcome, started + session.run_seconds
        if now >= session.created + session.deadline:
            return "Failed", session.created + session.deadline
        return "Running", None

    def _status(self, session: FakeSession, now: float) -> str:
        return self._timeline(session, now)[0]

    def _visible(self, session: FakeSession, now: float) -> bool:
        if session.deleted:
            return False
        status, final_at = self._timeline(session, now)
        if status in FINAL and final_at is not None:
            ttl = self.headless_ttl if session.type == "headless" else INTERACTIVE_TTL
            return now < final_at + ttl
        return True

    def _find(self, session_id: str, user: str) -> FakeSession | None:
        session = self.sessions.get(session_id)
        if session is None or session.userid != user or not self._visible(session, self.now()):
            return None
        return session

    def _session_json(self, session: FakeSession, host: str, now: float) -> dict[str, Any]:
        status = self._status(session, now)
        uid = self._uid(session.userid)
        data: dict[str, Any] = {
            "id": session.id,
            "userid": session.userid,
            "runAsUID": str(uid),
            "runAsGID": str(uid),
            "supplementalGroups": [uid, 30002],
        }
        if session.appid is not None:
            data["appid"] = session.appid
        data.update(image=session.image, type=session.type, status=status, name=session.name)
        if not session.queued:
            data["startTime"] = offset_date_time(session.created)
            data["expiryTime"] = instant(session.created + session.deadline)
        data["connectURL"] = self._connect_url(session, host)
        fixed = session.ram is not None or session.type == "firefly"
        if fixed:
            ram_gib = float(session.ram) if session.ram is not None else 4.0
            data["requestedRAM"] = f"{ram_gib * 2**30 / 1e9:.2f}"
            data["requestedCPUCores"] = session.cores or "1"
        data["requestedGPUCores"] = str(session.gpus if self.gpu_enabled else 0)
        if status == "Running":
            data["ramInUse"] = "0.15"
            data["cpuCoresInUse"] = "0.003"
        data["isFixedResources"] = fixed
        return data

    def _connect_url(self, session: FakeSession, host: str) -> str:
        base, sid = f"http://{host}/session", session.id
        return {
            "desktop": f"{base}/desktop/{sid}/?password={sid}&path=session/desktop/{sid}/",
            "notebook": f"{base}/notebook/{sid}/lab/tree/cavern/home/{session.userid}?token={sid}",
            "carta": f"{base}/carta/{sid}/",
            "contributed": f"{base}/contrib/{sid}/",
            "firefly": f"{base}/firefly/{sid}/firefly/",
        }.get(session.type, "")

    # -- request handling ------------------------------------------------------------------

    def _authenticate(self, request: RecordedRequest) -> str:
        header = request.header("Authorization")
        if header is None:
            if self.anonymous_400:
                raise SkahaError(400, "cannot get group memberships for anonymous")
            raise SkahaError(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
        parts = header.split(" ")
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise SkahaError(
                401,
                "invalid authorization",
                newline=False,
                headers={
                    "WWW-Authenticate": 'Bearer error="invalid_request", '
                    'error_description="invalid authorization"'
                },
            )
        user = self.tokens.get(parts[1])
        if user is None and self.validator is not None:
            user = self.validator(parts[1])
        if user is None:
            raise SkahaError(
                401,
                "invalid token",
                newline=False,
                headers={
                    "WWW-Authenticate": 'Bearer error="invalid_token", '
                    'error_description="invalid_token reason: token not recognised..."'
                },
            )
        if user in self.forbidden:
            raise SkahaError(403, "Not authorized to use the skaha system")
        return user

    def handle(self, request: RecordedRequest, host: str) -> Response:
        """The answer to one request (faults aside)."""
        path = request.path
        if path == "/reg/resource-caps" and request.method == "GET":
            lines = ["# fake registry", f"{self.uri} = http://{host}/skaha/capabilities"]
            lines += [f"{uri} = {url}" for uri, url in self.registry_records]
            return Response(200, ("\n".join(lines) + "\n").encode(), "text/plain")
        if not path.startswith("/skaha"):
            return _html(404, "Not Found")
        rest = path[len("/skaha") :]
        if rest in ("", "/"):
            if request.method in ("GET", "HEAD"):
                return _html(200, "Skaha API")
            return _unsupported(request.method, "GET, HEAD")
        if rest == "/capabilities":
            if request.method not in ("GET", "HEAD"):
                return _unsupported(request.method, "GET, HEAD")
            return Response(200, self._capabilities(host).encode(), "text/xml")
        if rest == "/availability":
            if request.method not in ("GET", "HEAD"):
                return _unsupported(request.method, "GET, HEAD")
            note = "Skaha Service Available." if self.available else "Skaha Service Unavailable."
            text = _AVAILABILITY.format(available=str(self.available).lower(), note=note)
            return Response(200, text.encode(), "text/xml")
        try:
            if rest == "/v1/session" or rest.startswith("/v1/session/"):
                return self._session_servlet(request, rest[len("/v1/session") :], host)
            if rest in ("/v1/image", "/v1/context", "/v1/repository"):
                if request.method != "GET":
                    return _unsupported(request.method, "GET")
                user = self._authenticate(request)
                return _with_user(self._simple(request, rest), user)
        except SkahaError as exc:
            return Response(exc.status, exc.message.encode(), "text/plain", dict(exc.headers))
        return _html(404, "Not Found")

    def _simple(self, request: RecordedRequest, rest: str) -> Response:
        if rest == "/v1/context":
            return _json(self.context, pretty=False)
        if rest == "/v1/repository":
            return _json(self.registries, pretty=False)
        kind = request.param("type")
        images = self.images
        if kind is not None:
            if kind not in IMAGE_TYPES:
                raise SkahaError(400, f"unknown type: {kind}")
            images = [i for i in images if kind in i.get("types", [])]
        return _json(images)

    def _session_servlet(self, request: RecordedRequest, tail: str, host: str) -> Response:
        method = request.method
        if method not in ("GET", "POST", "DELETE"):
            return _unsupported(method, "GET, POST, DELETE")
        user = self._authenticate(request)
        segments = [s for s in tail.split("/") if s] if tail else []
        if len(segments) > 3:
            raise SkahaError(400, f"Invalid request: {tail}")
        with self._lock:
            if not segments:
                if method == "GET":
                    return _with_user(self._list(request, user, host), user)
                if method == "POST":
                    return _with_user(self._create(request, user), user)
                raise SkahaError(400, "Cannot kill all sessions.")
            session_id = segments[0]
            if len(segments) > 1:
                return _with_user(self._app(request, user, segments), user)
            if method == "GET":
                return _with_user(self._get(request, user, session_id, host), user)
            if method == "POST":
                return _with_user(self._modify(request, user, session_id), user)
            return _with_user(self._delete(user, session_id), user)

    def _list(self, request: RecordedRequest, user: str, host: str) -> Response:
        view = request.param("view")
        if view == "stats":
            return self._stats()
        now = self.now()
        kind = request.param("type")
        status = request.param("status")
        visible = [s for s in self.sessions.values() if self._visible(s, now)]
        visible.sort(key=lambda s: (s.type, s.userid, s.id))
        if view == "all":
            return _json(
                [_public(s, self._status(s, now)) for s in visible if s.type != "desktop-app"]
            )
        mine = [s for s in visible if s.userid == user]
        if view is not None and view.lower() == "interactive":
            mine = [s for s in mine if s.type != "headless"]
        else:
            if kind is None or kind.lower() != "desktop-app":
                mine = [s for s in mine if s.type != "desktop-app"]
            if kind is not None:
                mine = [s for s in mine if s.type == kind.lower()]
        if status is not None:
            mine = [s for s in mine if self._status(s, now).lower() == status.lower()]
        return _json([self._session_json(s, host, now) for s in mine])

    def _stats(self) -> Response:
        if self.stats_outage:
            raise SkahaError(503, "temporarily unavailable: null", headers={"Retry-After": "30"})
        now = self.now()
        active = [
            s
            for s in self.sessions.values()
            if self._visible(s, now) and self._status(s, now) in ACTIVE
        ]
        cores = sum(float(s.cores or 1) for s in active)
        ram = sum(float(s.ram or 4) for s in active)
        data = {
            "cores": {
                "requestedCPUCores": float(cores),
                "cpuCoresAvailable": 512.0,
                "maxCPUCores": {"cpuCores": 8.0, "withRam": "32Gi"},
            },
            "ram": {
                "requestedRAM": f"{ram * 2**30 / 1e9:.3f}G",
                "ramAvailable": "2048.000G",
                "maxRAM": {"ram": "32Gi", "withCPUCores": 8.0},
            },
        }
        return _json(data)

    def _options(self, key: str) -> list[int]:
        entry = self.context.get(key) or {}
        return [int(v) for v in entry.get("options", [])]

    def _create(self, request: RecordedRequest, user: str) -> Response:
        image = request.param("image")
        if image is None:
            raise SkahaError(400, "Missing parameter 'image'")
        if not image.strip():
            raise SkahaError(400, "image is required")
        if not any(image.startswith(host) for host in self.registries):
            hosts = ", ".join(self.registries)
            raise SkahaError(400, f"session image '{image}' must come from one of [{hosts}]")
        kind = request.param("type")
        kind = "headless" if kind is None else kind
        if kind.lower() not in SESSION_TYPES:
            raise SkahaError(400, f"Invalid session type: {kind}")
        kind = kind.lower()
        for param, key in (("cores", "cores"), ("ram", "memoryGB")):
            raw = request.param(param)
            if raw is None:
                continue
            try:
                whole = int(_java_number(raw))
            except ValueError:
                raise SkahaError(400, f"Invalid value for '{param}': {raw}") from None
            if whole not in self._options(key):
                raise SkahaError(400, f"Invalid value for '{param}': {raw}")
        name = request.param("name")
        if name is None or not name.strip():
            raise SkahaError(400, "Missing parameter 'name'")
        if not _NAME.fullmatch(name):
            raise SkahaError(400, "name can only contain alpha-numeric chars and '-'")
        if kind != "headless":
            now = self.now()
            count = sum(
                1
                for s in self.sessions.values()
                if s.userid == user
                and s.type not in ("headless", "desktop-app")
                and self._visible(s, now)
                and self._status(s, now) in ACTIVE
            )
            if count >= self.max_user_sessions:
                raise SkahaError(
                    400,
                    f"User {user} has reached the maximum of {self.max_user_sessions} "
                    "active sessions.",
                )
        gpus_raw = request.param("gpus")
        gpus = 0
        if gpus_raw is not None:
            try:
                gpus = int(gpus_raw.strip())
            except ValueError:
                raise SkahaError(400, f"Invalid value for 'gpus': {gpus_raw}") from None
            if gpus not in self._options("gpus"):
                raise SkahaError(400, f"Invalid value for 'gpus': {gpus_raw}")
        if not any(image == i["id"] for i in self.images):
            auth = request.header("X-Skaha-Registry-Auth")
            if auth is None:
                raise SkahaError(
                    400,
                    "No authentication provided for unknown or private image.  Use "
                    "x-skaha-registry-auth request header with base64Encode(username:secret).",
                )
            try:
                decoded = base64.b64decode(auth, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            if decoded.count(":") != 1:
                raise SkahaError(400, "Invalid input.  Must be in form of username:secret")
        cmd = request.param("cmd")
        args_raw = request.param("args")
        env_items = request.values("env")
        if kind == "desktop-app":
            raise SkahaError(
                500, "unexpected exception: java.lang.NullPointerException", newline=False
            )
        pasted = [cmd or "", args_raw or "", *env_items]
        if any(ch in text for text in pasted for ch in ('"', "\n", "\r", "\\")):
            raise SkahaError(
                500,
                "unexpected exception: io.kubernetes.client.openapi.ApiException: Bad Request",
                newline=False,
            )
        lowered = name.lower()
        if len(lowered) > 63 or lowered.startswith("-") or lowered.endswith("-"):
            raise SkahaError(
                500,
                "unexpected exception: io.kubernetes.client.openapi.ApiException: "
                "Unprocessable Entity",
                newline=False,
            )
        env: list[tuple[str, str]] = []
        if kind == "headless":
            for item in env_items:
                pieces = java_split(item, "=")
                if len(pieces) == 2:
                    env.append((pieces[0], pieces[1]))
        cores_raw, ram_raw = request.param("cores"), request.param("ram")
        session = FakeSession(
            id=self._new_id(),
            userid=user,
            type=kind,
            image=image,
            name=lowered[:63],
            created=self.now(),
            cores=None if cores_raw is None else _cores_text(_java_number(cores_raw)),
            ram=None if ram_raw is None else f"{_java_number(ram_raw):g}",
            gpus=gpus,
            cmd=cmd if kind == "headless" else None,
            args=java_split(args_raw, " ") if kind == "headless" and args_raw is not None else None,
            env=env,
            run_seconds=self.run_seconds if kind == "headless" else None,
            deadline=HEADLESS_DEADLINE if kind == "headless" else INTERACTIVE_DEADLINE,
        )
        with self._lock:
            script = self.outcomes.get(session.name) if kind == "headless" else None
            if script:
                session.outcome = script.pop(0) if len(script) > 1 else script[0]
                session.logs = f"{session.name}: {session.outcome}\n"
        self.sessions[session.id] = session
        return Response(200, f"{session.id}\n".encode(), "text/plain")

    def _get(self, request: RecordedRequest, user: str, session_id: str, host: str) -> Response:
        view = request.param("view")
        session = self._find(session_id, user)
        if view == "logs":
            return Response(200, b"" if session is None else session.logs_bytes(), "text/plain")
        if view == "events":
            if session is None:
                raise SkahaError(404, f"session {session_id} not found.")
            return Response(200, self._events(session).encode(), "text/plain")
        if session is None or session.type == "desktop-app":
            raise SkahaError(404, f"session {session_id} not found")
        return _json(self._session_json(session, host, self.now()))

    def _events(self, session: FakeSession) -> str:
        status = self._status(session, self.now())
        when = instant(session.created)
        if status == "Pending" and self.pending_reason:
            return (
                "TYPE      REASON             MESSAGE   FIRST-TIME   LAST-TIME\n"
                f"Warning   FailedScheduling   {self.pending_reason}   {when}   {when}\n"
            )
        if status == "Pending":
            return "<none>\n"
        pod = f"skaha-{session.type}-{session.userid}-{session.id}"
        rows = [
            ("TYPE", "REASON", "MESSAGE", "FIRST-TIME", "LAST-TIME"),
            (
                "Normal",
                "Scheduled",
                f"Successfully assigned skaha-workload/{pod} to node-1",
                when,
                when,
            ),
            ("Normal", "Pulled", f'Container image "{session.image}" already present', when, when),
            ("Normal", "Started", "Started container main", when, when),
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
        ]
        return "\n".join(lines) + "\n"

    def _modify(self, request: RecordedRequest, user: str, session_id: str) -> Response:
        action = request.param("action")
        if action is None:
            raise SkahaError(400, "Cannot modify an existing session")
        if action.lower() != "renew":
            raise SkahaError(400, "unrecognized action")
        session = self._find(session_id, user)
        now = self.now()
        if session is None or self._status(session, now) not in ACTIVE:
            uid = self._uid(user)
            raise SkahaError(
                400,
                f"No active job for user PosixPrincipal [uidNumber={uid},{uid},{user}] "
                f"with session {session_id}",
            )
        remaining = session.deadline - (now - session.created)
        if self.session_expiry > remaining:
            session.deadline = (now - session.created) + self.session_expiry
        return Response(200, b"", "text/plain")

    def _delete(self, user: str, session_id: str) -> Response:
        session = self._find(session_id, user)
        if session is None:
            if self.legacy_delete:
                raise SkahaError(404, session_id, newline=False)
            return Response(200, b"", "text/plain")
        session.deleted = True
        return Response(200, b"", "text/plain")

    def _app(self, request: RecordedRequest, user: str, segments: list[str]) -> Response:
        session = self._find(segments[0], user)
        if segments[1] != "app":
            raise SkahaError(400, f"Invalid request: /{'/'.join(segments)}")
        if request.method == "GET" and len(segments) == 2:
            return _json([])
        if session is None or session.type != "desktop":
            raise SkahaError(404, f"session {segments[0]} not found")
        if request.method == "POST" and len(segments) == 3:
            raise SkahaError(400, "Cannot modify an existing app.")
        raise SkahaError(404, f"session {segments[0]} not found")

    def _capabilities(self, host: str) -> str:
        root = f"http://{host}/skaha"
        blocks = []
        for standard, suffix in (
            ("http://www.opencadc.org/std/platform#session-1", "/v1/session"),
            ("http://www.opencadc.org/std/platform#context-1", "/v1/context"),
            ("http://www.opencadc.org/std/platform#image-1", "/v1/image"),
            ("http://www.opencadc.org/std/platform#repository-1", "/v1/repository"),
        ):
            interfaces = "".join(
                _INTERFACE.format(url=root + suffix, method=_SECURITY[m])
                for m in self.security
                if m in _SECURITY
            )
            blocks.append(_PLATFORM_CAPABILITY.format(standard=standard, interfaces=interfaces))
        return _CAPABILITIES.format(root=root, platform="".join(blocks))


def _public(session: FakeSession, status: str) -> dict[str, Any]:
    data: dict[str, Any] = {"userid": session.userid, "type": session.type, "status": status}
    if not session.queued:
        data["startTime"] = offset_date_time(session.created)
    return data


def _json(data: Any, *, pretty: bool = True) -> Response:
    text = json.dumps(data, indent=2) if pretty else json.dumps(data, separators=(",", ":"))
    return Response(200, text.encode(), "application/json")


def _html(status: int, title: str) -> Response:
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(status, body.encode(), "text/html;charset=utf-8")


def _unsupported(method: str, allow: str) -> Response:
    return Response(405, f"unsupported: HTTP {method}\n".encode(), "text/plain", {"Allow": allow})


def _with_user(response: Response, user: str) -> Response:
    response.headers.setdefault("x-vo-authenticated", user)
    return response


def _remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` in a path as a servlet container does before routing."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


_DEFAULT_BODIES = {
    500: "unexpected exception: java.lang.RuntimeException: injected",
    502: "<html><body><h1>502 Bad Gateway</h1></body></html>",
    503: "temporarily unavailable: injected\n",
    504: "<html><body><h1>504 Gateway Time-out</h1></body></html>",
}


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into calls on the :class:`FakeSkaha` it belongs to."""

    fake: FakeSkaha
    protocol_version = "HTTP/1.1"
    server_version = "fakeskaha/1.0"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_PUT = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _record(self) -> RecordedRequest:
        split = urlsplit(self.path)
        raw_path = split.path
        body = self._read_body()
        params = parse_qsl(split.query, keep_blank_values=True)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.command == "POST":
            if content_type == "application/x-www-form-urlencoded":
                params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            else:  # the servlet reads no parameter at all without a form body
                params = []
        path = unquote(_remove_dot_segments(raw_path))
        request = RecordedRequest(
            method=self.command,
            raw_path=raw_path,
            path=path,
            query=split.query,
            params=params,
            headers={key: value for key, value in self.headers.items()},
            body=body,
            time=time.time(),
        )
        with self.fake._lock:
            self.fake.requests.append(request)
        return request

    def _fault(self, request: RecordedRequest) -> Fault | None:
        with self.fake._lock:
            for fault in self.fake.faults:
                if fault.matches(request.method, request.path):
                    fault.hits += 1
                    return fault
        return None

    def _serve(self) -> None:
        with self.fake._lock:
            self.fake.in_flight += 1
            self.fake.max_in_flight = max(self.fake.max_in_flight, self.fake.in_flight)
        try:
            self._serve_one()
        finally:
            with self.fake._lock:
                self.fake.in_flight -= 1

    def _serve_one(self) -> None:
        request = self._record()
        host = self.headers.get("Host") or f"127.0.0.1:{self.fake.port}"
        fault = self._fault(request)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.reset:
            self._reset()
            return
        if "%2f" in request.raw_path.lower():
            response = Response(400, b"Invalid URI: encoded slash\n", "text/plain")
        elif fault is not None and (fault.status is not None or fault.body is not None):
            status = fault.status or 200
            body = fault.body if fault.body is not None else _DEFAULT_BODIES.get(status, "")
            data = body.encode() if isinstance(body, str) else body
            response = Response(status, data, fault.content_type, dict(fault.headers))
        else:
            try:
                response = self.fake.handle(request, host)
            except Exception as exc:  # a bug in the fake shows as the server's 500
                response = Response(500, f"unexpected exception: {exc!r}".encode())
        if fault is not None and fault.delay_after:
            time.sleep(fault.delay_after)
        if fault is not None and fault.reset_after:
            self._reset()
            return
        try:
            self._write(
                response,
                truncate=fault is not None and fault.truncate,
                trickle=fault.trickle if fault is not None else 0.0,
                trickle_size=fault.trickle_size if fault is not None else 1,
            )
        except OSError:  # the client gave up (a timeout test): nothing to tell it
            self.close_connection = True

    def _write(
        self, response: Response, *, truncate: bool, trickle: float = 0.0, trickle_size: int = 1
    ) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        body = response.body
        if truncate and len(body) < 2:
            body = body + b" " * (2 - len(body))
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if trickle:
            for index in range(0, len(body), trickle_size):
                self.wfile.write(body[index : index + trickle_size])
                self.wfile.flush()
                time.sleep(trickle)
            return
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close the connection with a TCP reset and no answer at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()


class _Server(ThreadingHTTPServer):
    """A deep accept queue, as a real service has (Tomcat's is 100): with Python's default of
    5, a burst of concurrent replica launches on a busy machine overflows it and the kernel
    resets connections that a real service would have accepted."""

    request_queue_size = 128


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, poll: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
