"""The HTTP layer of the canfar backend: timeouts, retries and error mapping, in one place.

Rules:

* every call has a connect and a read timeout, and an overall deadline for all its tries
  together (a server that trickles its answer a byte at a time cannot hold a command): the
  request runs in a daemon thread while the caller waits, so Ctrl-C also stops it at once;
  a streamed answer (a log) is held to its pace instead: each piece of 64 KiB (or the rest of
  it) must come within that deadline, so a big log is never cut and a trickle is;
* idempotent calls (GET, DELETE) are retried on 429, 502, 503, 504 and on connection errors,
  with exponential backoff and jitter, honouring ``Retry-After``, a bounded number of times
  and only while the deadline allows; a POST is retried on 429 (the server did not take it);
* a POST is otherwise retried only when it certainly never reached the server (the connection
  could not be opened): a create that may have landed is never sent twice; when it was sent
  and no usable answer came back, the error is :class:`AnswerLost` (it may have been done);
* redirects are followed only for GET and HEAD, only within the same server and scheme (never
  from https to http); any other redirect is an error that says so (:class:`Redirected`);
* every failure becomes one :class:`~canfar_core.errors.CanfarError` with the server's own
  message: 401 -> :class:`AuthError` (log in again), 403 -> :class:`PermissionDenied`,
  404 -> :class:`NotFound`, other 4xx -> :class:`RequestRefused`, 5xx and bodies that are not
  the JSON expected -> :class:`ServerError`, no connection or no answer in time ->
  :class:`ConnectionFailed`.

Tuning for scripts and tests, from the environment: ``CANFAR_HTTP_TIMEOUT`` (``READ``,
``CONNECT,READ`` or ``CONNECT,READ,TOTAL`` seconds; the total defaults to 1.5 times READ),
``CANFAR_HTTP_RETRIES`` (retries after the first try), ``CANFAR_HTTP_BACKOFF`` (first wait,
seconds).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    ServerError,
    ValidationError,
    hide_url_passwords,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger("canfar.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Answers that say the request was not taken at all: even a create may be sent again.
NOT_TAKEN_STATUSES = frozenset({429})
#: Redirects followed for one GET at most.
MAX_REDIRECTS = 5
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_MAX_MESSAGE = 300
#: Request headers that carry credentials; a server that echoes them is never repeated.
SECRET_HEADERS = ("Authorization", "X-Skaha-Registry-Auth", "Cookie")
#: Shorter values are not searched for in messages (they would match ordinary words).
_MIN_SECRET = 8


class RequestRefused(CanfarError):
    """The server refused a request as malformed or impossible (HTTP 400, 409, ...)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AnswerLost(ConnectionFailed):
    """A request that is not repeated (a create) was sent, and no usable answer came back: a
    timeout, a broken connection, a cut-off answer. It may have been carried out."""


class Unreachable(ConnectionFailed):
    """The server could not be reached: nothing was sent."""


class Redirected(ServerError):
    """The server answered with a redirect that canfar does not follow."""


class _Overdue(Exception):
    """The overall deadline passed while a request was under way."""


def _env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a number of seconds, not '{raw}'") from None
    if not value >= 0:
        raise ValidationError(f"{name} must not be negative, not '{raw}'")
    return value


@dataclass
class Timeouts:
    """Seconds to wait for a connection, for each read of the answer, and for the whole call
    (every try and every wait between tries; ``None``: 1.5 times ``read``)."""

    connect: float = 10.0
    read: float = 60.0
    total: float | None = None

    @property
    def overall(self) -> float:
        """The deadline of one call, all tries included."""
        return self.total if self.total is not None else max(self.connect, self.read) * 1.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Timeouts:
        env = os.environ if environ is None else environ
        raw = env.get("CANFAR_HTTP_TIMEOUT", "").strip()
        if not raw:
            return cls()
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) > 3:
            raise ValidationError(
                "CANFAR_HTTP_TIMEOUT must be READ, CONNECT,READ or CONNECT,READ,TOTAL seconds, "
                f"not '{raw}'"
            )
        values = [_env_float({"CANFAR_HTTP_TIMEOUT": p}, "CANFAR_HTTP_TIMEOUT", 0) for p in parts]
        if any(v <= 0 for v in values):
            raise ValidationError(f"CANFAR_HTTP_TIMEOUT must be positive, not '{raw}'")
        if len(values) == 1:
            return cls(connect=min(cls.connect, values[0]), read=values[0])
        if len(values) == 2:
            return cls(connect=values[0], read=values[1])
        return cls(connect=values[0], read=values[1], total=values[2])


@dataclass
class RetryPolicy:
    """When and how long to wait before trying a request again.

    ``attempts`` counts every try, the first included. The wait before try ``n + 1`` is drawn
    between half and all of ``min(backoff_max, backoff * 2 ** (n - 1))`` (jitter keeps many
    clients from retrying in step); a ``Retry-After`` from the server is waited out when it is
    at most ``retry_after_max`` seconds, and ends the retries when it is longer.
    """

    attempts: int = 4
    backoff: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 10.0
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        env = os.environ if environ is None else environ
        policy = cls()
        raw = env.get("CANFAR_HTTP_RETRIES", "").strip()
        if raw:
            if not raw.isdigit():
                raise ValidationError(f"CANFAR_HTTP_RETRIES must be a whole number, not '{raw}'")
            policy.attempts = int(raw) + 1
        policy.backoff = _env_float(env, "CANFAR_HTTP_BACKOFF", policy.backoff)
        policy.backoff_max = max(policy.backoff, min(policy.backoff_max, policy.backoff * 16))
        return policy

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def quote_id(session_id: str) -> str:
    """A session id as one URL path segment; anything that is not an id is refused.

    ``../context`` must never reach ``/context``: ids are checked, then percent-encoded
    with no character left as a separator.
    """
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        raise ValidationError(f"'{session_id}' is not a session id")
    if session_id in (".", "..") or set(session_id) == {"."}:
        raise ValidationError(f"'{session_id}' is not a session id")
    return quote(session_id, safe="")


def server_label(url: str) -> str:
    """``host[:port]`` of a URL, as errors name the server (never a ``user:password@``)."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or safe_url(url)


def safe_url(url: str) -> str:
    """``url`` with any password in it masked, fit to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}" if user else f"***@{host}").geturl()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def message_of(response: requests.Response, redact: Callable[[str], str] | None = None) -> str:
    """The server's own message from an error answer, on one line.

    Skaha answers errors as ``text/plain``; a proxy in front of it may answer HTML, of which
    only the title or the reason phrase is worth showing. ``redact`` hides secrets the server
    echoed, before the message is shortened (so no part of one is left).
    """
    text = _decode(response)
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
        match = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = match.group(1) if match else ""
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    if not text:
        text = response.reason or f"HTTP {response.status_code}"
    if redact is not None:
        text = redact(text)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return text


def _decode(response: requests.Response) -> str:
    """The body as text. Skaha sends UTF-8 without saying so; never guess Latin-1."""
    charset = None
    content_type = response.headers.get("Content-Type", "")
    match = re.search(r"charset=([\w.-]+)", content_type, re.IGNORECASE)
    if match:
        charset = match.group(1)
    try:
        return response.content.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return response.content.decode("utf-8", errors="replace")


class HttpClient:
    """Requests to one versioned API root (``https://host/skaha/v1``), with the rules above.

    ``login_hint`` is the advice shown when the server answers 401 (how to log in again).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeouts: Timeouts | None = None,
        policy: RetryPolicy | None = None,
        login_hint: str = "log in again: canfar auth login",
        headers: Mapping[str, str] | None = None,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = server_label(self.base_url)
        self.timeouts = timeouts or Timeouts.from_env()
        self.policy = policy or RetryPolicy.from_env()
        self.login_hint = login_hint
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            # Enough pooled connections for the concurrent replica launches.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        if headers:
            self.session.headers.update(headers)
        #: Credentials sent on single requests only (a registry login), hidden like the rest.
        self.secrets: set[str] = set()

    def url(self, path: str) -> str:
        """The full URL of ``path`` (already escaped) under the API root."""
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    # -- the one place requests are sent ---------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        data: list[tuple[str, str]] | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        unsure: str = "the request may still have been carried out",
        deadline: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request (retrying as the rules allow); a 2xx answer, or an exception.

        ``unsure`` is what the error says when the connection failed after a request that is
        not retried had been sent (a create: "the session may have been created").
        ``deadline`` replaces the overall deadline (seconds) of this call. With ``stream`` the
        deadline covers the answer's headers; the caller reads the body (read timeout per read).
        """
        import requests

        method = method.upper()
        url = self.url(path)
        idempotent = method in IDEMPOTENT
        attempts = max(1, self.policy.attempts)
        send_headers = dict(headers or {})
        if data is not None:
            send_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        began = time.monotonic()
        ends = began + (self.timeouts.overall if deadline is None else deadline)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._send(method, url, params, data, send_headers, ends, stream)
            except _Overdue:
                elapsed = time.monotonic() - began
                tries = f" ({attempt} tries)" if attempt > 1 else ""
                message = (
                    f"{self.label} gave no complete answer within {_seconds(elapsed)} s{tries}"
                )
                if idempotent:
                    raise ConnectionFailed(message) from None
                raise AnswerLost(f"{message}; {unsure} (check with: canfar ps)") from None
            except requests.RequestException as exc:
                failure, retryable = self._transport_failure(exc, method, idempotent, unsure)
                log.info("%s %s -> %s (try %d)", method, url, failure, attempt)
                if not retryable or attempt >= attempts:
                    raise failure from None
                pause = self.policy.wait(attempt)
                if time.monotonic() + pause >= ends:
                    raise failure from None
                self.policy.sleep(pause)
                continue
            log.info(  # one line per answer: canfar -v shows them
                "%s %s -> %d (%.2f s, try %d)",
                method,
                response.url,
                response.status_code,
                time.monotonic() - started,
                attempt,
            )
            if 300 <= response.status_code < 400 and response.status_code != 304:
                response = self._follow(response, method, send_headers, ends, stream)
            if response.status_code < 400:
                return response
            status = response.status_code
            retryable = idempotent or status in NOT_TAKEN_STATUSES
            if retryable and status in self.policy.statuses and attempt < attempts:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                pause = self.policy.wait(attempt, retry_after)
                allowed = retry_after is None or retry_after <= self.policy.retry_after_max
                if allowed and time.monotonic() + pause < ends:
                    self.policy.sleep(pause)
                    continue
            raise self.error_for(response, method)

    def _send(
        self,
        method: str,
        url: str,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None,
        data: list[tuple[str, str]] | Mapping[str, str] | None,
        headers: Mapping[str, str],
        ends: float,
        stream: bool = False,
    ) -> requests.Response:
        """One try, in a daemon thread: raises :class:`_Overdue` when ``ends`` passes first.

        The caller waits on an event, so Ctrl-C interrupts it at once; a thread left behind
        ends with its own read timeout (or with the process).
        """
        import requests

        left = ends - time.monotonic()
        if left <= 0:
            raise _Overdue
        box: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                box["response"] = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=(min(self.timeouts.connect, left), min(self.timeouts.read, left)),
                    allow_redirects=False,
                    stream=stream,
                )
            except BaseException as exc:  # handed to the caller
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, daemon=True, name="canfar-http").start()
        if not done.wait(left):
            raise _Overdue
        if "error" in box:
            # A timeout cut short to fit the deadline is the deadline passing, whichever of
            # the socket and the wait above noticed it first.
            error = box["error"]
            if isinstance(error, requests.ConnectTimeout) and left < self.timeouts.connect:
                raise _Overdue
            if isinstance(error, requests.ReadTimeout) and left < self.timeouts.read:
                raise _Overdue
            raise error
        response: requests.Response = box["response"]
        return response

    def _follow(
        self,
        response: requests.Response,
        method: str,
        headers: Mapping[str, str],
        ends: float,
        stream: bool = False,
    ) -> requests.Response:
        """Follow a redirect of a GET within this server; anything else is :class:`Redirected`.

        A DELETE or POST is never sent again elsewhere, nor turned into a GET whose answer
        would look like success; no request ever goes from https to plain http.
        """
        where = urlsplit(response.url).path or self.label
        for _ in range(MAX_REDIRECTS + 1):
            status = response.status_code
            if not 300 <= status < 400 or status == 304:
                return response
            location = response.headers.get("Location", "")
            target = urljoin(response.url, location) if location else ""
            shown = safe_url(target) if target else "nowhere"
            if method not in ("GET", "HEAD"):
                raise Redirected(
                    f"{self.label} answered {method} {where} with a redirect to {shown} "
                    f"(HTTP {status}) instead of a result; canfar does not follow redirects for "
                    f"{method}, so it may not have been done (check with: canfar ps)",
                    status=status,
                )
            if not target:
                raise Redirected(
                    f"{self.label} redirected GET {where} (HTTP {status}) without saying where",
                    status=status,
                )
            here, there = _origin(self.base_url), _origin(target)
            if here[0] == "https" and there[0] != "https":
                raise Redirected(
                    f"{self.label} redirected GET {where} to plain http ({shown}); refused: "
                    "the answer would not be protected (check the server URL: canfar auth status)",
                    status=status,
                )
            if here != there:
                raise Redirected(
                    f"{self.label} redirected GET {where} to another server ({shown}); refused: "
                    "your credentials are only for this one (check the server URL)",
                    status=status,
                )
            response.close()
            response = self._send(method, target, None, None, headers, ends, stream)
        raise Redirected(
            f"{self.label} redirected GET {where} more than {MAX_REDIRECTS} times", status=status
        )

    def _transport_failure(
        self, exc: Exception, method: str, idempotent: bool, unsure: str
    ) -> tuple[CanfarError, bool]:
        """The error to report for a transport failure, and whether a retry is safe."""
        import requests

        maybe_done = "" if idempotent else f"; {unsure} (check with: canfar ps)"

        if isinstance(exc, requests.ConnectTimeout):
            # No connection was made, so nothing was sent: safe to retry any method.
            return (
                Unreachable(
                    f"cannot connect to {self.label}: no answer within {self.timeouts.connect:g} s"
                ),
                True,
            )
        lost = ConnectionFailed if idempotent else AnswerLost
        if isinstance(exc, requests.ReadTimeout):
            message = f"{self.label} did not answer within {self.timeouts.read:g} s"
            return lost(message + maybe_done), idempotent
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ValidationError(f"'{safe_url(self.base_url)}' is not a usable server URL"), False
        if isinstance(exc, requests.exceptions.SSLError):
            reason = _reason(exc)
            return ConnectionFailed(f"secure connection to {self.label} failed: {reason}"), False
        if isinstance(exc, requests.exceptions.ProxyError):
            proxy = proxy_for(self.base_url) or "the proxy"
            message = f"cannot connect to {proxy}, the proxy for {self.label}: {_reason(exc)}"
            variable = f"{urlsplit(self.base_url).scheme.upper()}_PROXY"
            return Unreachable(f"{message} (check {variable})"), True
        if isinstance(exc, requests.ConnectionError):
            if _never_sent(exc):
                return Unreachable(f"cannot connect to {self.label}: {_reason(exc)}"), True
            message = f"the connection to {self.label} broke: {_reason(exc)}"
            return lost(message + maybe_done), idempotent
        exceptions = requests.exceptions
        broken = (exceptions.ChunkedEncodingError, exceptions.ContentDecodingError)
        if isinstance(exc, broken):
            reason = _reason(exc)
            message = f"the answer from {self.label} was cut off"
            if reason != "the answer was cut off":  # say it once
                message += f": {reason}"
            return lost(message + maybe_done), idempotent
        return lost(f"request to {self.label} failed: {_reason(exc)}" + maybe_done), False

    def error_for(self, response: requests.Response, method: str) -> CanfarError:
        """The error an answer with status >= 400 means."""
        status = response.status_code
        text = message_of(response, self.redact)
        where = urlsplit(response.url).path or self.label
        if status == 401:
            return AuthError(
                f"{self.label} did not accept your credentials ({text}); {self.login_hint}"
            )
        if status == 403:
            return PermissionDenied(f"{self.label} refused access: {text}")
        if status == 404:
            if not text or text == "Not Found":
                text = f"{where} not found on {self.label}"
            return NotFound(text)
        if status >= 500:
            hint = None
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                hint = f"the server asks to try again in {retry_after:g} s"
            return ServerError(
                f"{self.label} failed (HTTP {status}) on {method} {where}: {text}",
                status=status,
                hint=hint,
            )
        return RequestRefused(f"{self.label} refused the request: {text}", status=status)

    def redact(self, text: str) -> str:
        """``text`` with every credential this client sends replaced by its masked form."""
        secrets = set()
        for name in SECRET_HEADERS:
            value = self.session.headers.get(name)
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if not value:
                continue
            _, _, credential = value.strip().partition(" ")  # "Bearer <token>"
            secrets.add(credential.strip() or value.strip())
        secrets.update(self.secrets)
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= _MIN_SECRET:
                text = text.replace(secret, mask(secret))
        return text

    # -- conveniences ------------------------------------------------------------------------

    def get_json(
        self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None
    ) -> Any:
        """GET ``path`` and parse its JSON body; a body that is not JSON is a ServerError."""
        response = self.request("GET", path, params=params)
        return self.json_of(response)

    def json_of(self, response: requests.Response) -> Any:
        import json

        try:
            return json.loads(_decode(response))
        except ValueError:
            content_type = response.headers.get("Content-Type", "no content type")
            sample = self.redact(" ".join(_decode(response).split()))[:60]
            where = urlsplit(response.url).path
            raise ServerError(
                f"{self.label} sent an answer that is not JSON for GET {where} "
                f"({content_type}): {sample!r}",
                status=response.status_code,
            ) from None

    def get_text(
        self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None
    ) -> str:
        """GET ``path`` and return its body as text, unaltered."""
        return _decode(self.request("GET", path, params=params))

    def iter_bytes(
        self,
        path: str,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        chunk_size: int = 64 * 1024,
    ) -> Iterator[bytes]:
        """GET ``path`` and yield its body piece by piece, never holding all of it."""
        import requests

        began = time.monotonic()
        response = self.request("GET", path, params=params, stream=True)
        reader = _PieceReader(response, chunk_size)
        allowed = self.timeouts.overall
        budget = allowed - (time.monotonic() - began)  # the first piece: with the headers
        try:
            while True:
                try:
                    piece = reader.next(budget)
                except _Overdue:
                    raise ConnectionFailed(
                        f"{self.label} is sending its answer too slowly (less than "
                        f"{chunk_size // 1024} KiB in {_seconds(allowed)} s); gave up, so what "
                        "came of it is incomplete (CANFAR_HTTP_TIMEOUT sets the time allowed)"
                    ) from None
                if piece is None:
                    return
                yield piece
                budget = allowed
        except requests.RequestException as exc:
            raise self._transport_failure(exc, "GET", True, "")[0] from None
        finally:
            reader.stop()  # closes the answer, in its own thread if it is still reading

    def close(self) -> None:
        self.session.close()


class _PieceReader:
    """Reads a streamed answer in a daemon thread, a few pieces ahead of the caller, so that
    the caller can give up on a piece that is late however the server dribbles it (the read
    timeout alone never ends an answer sent a byte a second). Only the time spent waiting for
    a piece counts: a caller slow to write it (a pager) is never taken for a slow server."""

    def __init__(self, response: requests.Response, chunk_size: int) -> None:
        import queue

        self._pieces: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
        self._stopped = threading.Event()
        self._response = response
        self._chunk_size = chunk_size
        self._closing = threading.Lock()
        self._reading = True  # the thread may be inside a read
        self._ended = False  # the caller has had the end of the answer (or its error)
        threading.Thread(target=self._read, daemon=True, name="canfar-http-body").start()

    def _read(self) -> None:
        try:
            for piece in self._response.iter_content(self._chunk_size):
                if not self._hand("piece", piece):
                    return
            self._hand("end", None)
        except BaseException as exc:  # handed to the caller
            self._hand("error", exc)
        finally:
            with self._closing:
                self._reading = False
                if self._stopped.is_set():
                    self._response.close()

    def _hand(self, kind: str, value: Any) -> bool:
        """Queue one item for the caller; ``False`` once the caller has stopped."""
        import queue

        while not self._stopped.is_set():
            try:
                self._pieces.put((kind, value), timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next(self, budget: float) -> bytes | None:
        """The next piece, ``None`` at the end; :class:`_Overdue` when none came in ``budget``
        seconds."""
        import queue

        try:
            kind, value = self._pieces.get(timeout=max(0.0, budget))
        except queue.Empty:
            raise _Overdue from None
        if kind != "piece":
            self._ended = True
        if kind == "error":
            raise value
        return value if kind == "piece" else None

    def stop(self) -> None:
        """Stop reading and close the answer.

        A read under way holds the answer's lock until it returns, which may take long when
        the server dribbles: the connection (this answer's own, as it is not read to its end)
        is shut down so that the read returns at once, and the thread closes the answer.
        """
        import socket

        with self._closing:
            self._stopped.set()
            if self._ended or not self._reading:
                self._response.close()
                return
        connection = getattr(self._response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _seconds(value: float) -> str:
    """A duration as messages state it: one decimal under ten seconds, whole seconds above."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _never_sent(exc: Exception) -> bool:
    """Whether a connection error happened before any byte of the request left."""
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested or current.__cause__ or current.__context__
    return False


def proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url`` (its password hidden), if any."""
    import requests.utils

    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
    return hide_url_passwords(proxy) if proxy else None


def _reason(exc: BaseException) -> str:
    """A short reason for a transport error (``connection refused``, ``reset by peer``)."""
    text = str(exc)
    lowered = text.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("reset by peer", "connection reset by the server"),
        ("remotedisconnected", "the server closed the connection without answering"),
        ("remote end closed", "the server closed the connection without answering"),
        ("incompleteread", "the answer was cut off"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("certificate verify failed", "certificate verify failed"),
        ("timed out", "timed out"),
    ):
        if needle in lowered:
            return reason
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:_MAX_MESSAGE]


def mask(secret: str) -> str:
    """A secret as it may be shown: its first four characters at most, the rest hidden."""
    shown = 4 if len(secret) >= 16 else 0
    return secret[:shown] + "…" + f"({len(secret)} characters)"
