"""The ``canfar`` backend: sessions on a CANFAR Science Platform, through the Skaha HTTP API.

Every call goes through :class:`~canfar_plugins.skaha.http.HttpClient` (timeouts, retries,
error mapping). Replicas are separate create requests, sent concurrently with a bound; deletes
and renewals of many sessions are concurrent too.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from canfar_core import __version__
from canfar_core.auth import REGISTRY_LOGIN, get_provider
from canfar_core.backend import Backend
from canfar_core.concurrency import concurrently
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConfigError,
    ConnectionFailed,
    LaunchInterrupted,
    NotFound,
    PermissionDenied,
    ServerError,
    Unsupported,
    ValidationError,
)
from canfar_core.models import (
    FINAL_STATUSES,
    Image,
    LaunchResult,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionSpec,
)
from canfar_plugins._support.login import login_command
from canfar_plugins.skaha import parse, wire
from canfar_plugins.skaha.http import (
    AnswerLost,
    HttpClient,
    Redirected,
    RequestRefused,
    Timeouts,
    Unreachable,
    quote_id,
)

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_plugins._support.journal import Journal

#: Aliases for use inside the backend class, where ``list`` names a method.
_Ids = list[str]
_Outcomes = list[tuple[str, "CanfarError | None"]]
_Sessions = list[SessionInfo]
_Images = list[Image]
_Params = list[tuple[str, str]]

#: At most this many requests in flight for one command (replicas, deletes, renewals), unless the
#: session sets ``concurrency`` (``Session(concurrency=N)``, ``CANFAR_CONCURRENCY``). 32 is the
#: public client's default; measured against the fake server with 20 and 100 ms per request
#: (docs/performance.md), it launches 100 and 256 replicas in 0.5 to 0.7 of the time 16 takes.
#: 64 gains more only where each request waits long, and doubles the burst one user sends.
MAX_CONCURRENCY = 32
API_VERSION = "v1"
#: The longest pause between polls of ``logs -f`` while a session prints nothing.
FOLLOW_POLL_MAX = 8.0
#: Seconds the server's resource offer is trusted before it is asked again.
OFFER_TTL = 300.0
_VERSIONED = re.compile(r"/v\d+$")
#: What the service answers a create with: an id of 8 characters, a lowercase letter then
#: lowercase letters and digits. Anything else (a proxy's ``Maintenance``) is not taken for one.
CREATED_ID = re.compile(r"[a-z][a-z0-9]{7}")


class _LogPass:
    """One download of a log being followed: the part already shown is only hashed and
    compared with what was shown (``rewritten`` when it differs); the rest is decoded."""

    def __init__(self, seen_length: int, seen_digest: bytes) -> None:
        import codecs
        import hashlib

        self.seen_length = seen_length
        self.seen_digest = seen_digest
        self.digest = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.length = 0
        self.matched = seen_length == 0
        self.rewritten = False
        self.printed = False

    def feed(self, piece: bytes) -> str:
        start = self.length
        self.length += len(piece)
        if not self.matched:
            if self.length < self.seen_length:
                self.digest.update(piece)
                return ""
            cut = self.seen_length - start
            self.digest.update(piece[:cut])
            if self.digest.digest() != self.seen_digest:
                self.rewritten = True
                return ""
            self.matched = True
            piece = piece[cut:]
        self.digest.update(piece)
        text = self.decoder.decode(piece)
        self.printed = self.printed or bool(text)
        return text

    def finish(self) -> str:
        text = self.decoder.decode(b"", final=True)
        self.printed = self.printed or bool(text)
        return text


@dataclass
class _Tally:
    """What became of each replica of a launch, while it is being worked out."""

    launched: dict[int, str] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    uncertain: dict[int, str] = field(default_factory=dict)
    not_sent: list[int] = field(default_factory=list)

    def result(self) -> LaunchResult:
        return LaunchResult(
            ids=[self.launched[k] for k in sorted(self.launched)],
            failures={k: self.failures[k] for k in sorted(self.failures)},
            uncertain={k: self.uncertain[k] for k in sorted(self.uncertain)},
            not_sent=sorted(self.not_sent),
        )


def api_url(url: str) -> str:
    """The versioned API root for a service URL.

    The URL is the service root without the API version (``https://host/skaha``); the client
    speaks ``/v1`` under it. A URL that already ends in a version (``.../skaha/v1``) is kept.
    """
    text = (url or "").strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValidationError(
            f"'{url}' is not a server URL; give the service root, "
            "for example https://ws-uv.canfar.net/skaha"
        )
    if "?" in text or "#" in text:
        raise ValidationError(f"'{url}' is not a server URL: it has a query or fragment")
    from urllib.parse import urlsplit

    try:
        urlsplit(text).port  # noqa: B018 - raises ValueError on a bad address or port
    except ValueError as exc:
        raise ValidationError(f"'{url}' is not a server URL: {exc}") from None
    return text if _VERSIONED.search(text) else f"{text}/{API_VERSION}"


def _registry_hint(message: str, image: str) -> str | None:
    """What to do when the service refuses a launch for want of a registry login."""
    lowered = message.lower()
    if "private image" in lowered:
        return (
            f"{image} is not in the platform's public image cache: if it is private, save your "
            "registry login with: canfar auth registry set USERNAME; "
            "otherwise check its name (canfar images)"
        )
    if "username:secret" in lowered:
        return (
            "the saved registry login is not usable; save it again: "
            "canfar auth registry set USERNAME"
        )
    return None


class SkahaBackend(Backend):
    """Sessions on a Skaha service (``context.url``), authenticated by ``context.auth``."""

    name = "canfar"
    #: The keyword options ``Session.create`` passes through to this backend: none.
    option_names: tuple[str, ...] = ()

    def __init__(self, context: Context, http: HttpClient | None = None) -> None:
        super().__init__(context)
        if not context.url:
            raise ConfigError(
                f"context '{context.name}' names no server; log in first: canfar auth login"
            )
        self.api = api_url(context.url)
        self._http = http
        self._http_lock = threading.Lock()
        self._resources: ResourceContext | None = None
        self._resources_at = 0.0
        self._journal: Journal | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def concurrency(self) -> int:
        """Requests in flight at once: the session's ``concurrency``, else the default."""
        chosen = self.context.options.get("concurrency")
        return int(chosen) if isinstance(chosen, (int, float)) else MAX_CONCURRENCY

    def _timeouts(self) -> Timeouts | None:
        """The session's ``timeout`` as the read timeout (and the connect one, when shorter);
        ``None`` leaves the HTTP layer's own (``CANFAR_HTTP_TIMEOUT``)."""
        chosen = self.context.options.get("timeout")
        if not isinstance(chosen, (int, float)):
            return None
        return Timeouts(connect=min(Timeouts.connect, float(chosen)), read=float(chosen))

    @property
    def http(self) -> HttpClient:
        """The HTTP client, with the context's credentials checked and attached."""
        with self._http_lock:  # logs of many sessions are fetched from several threads
            if self._http is None:
                self._http = self._connect()
        return self._http

    def _connect(self) -> HttpClient:
        """A new HTTP client with the context's credentials checked and attached."""
        provider = get_provider(self.context.auth or "token")
        credentials = self.context.credentials()
        provider.check(self.context, credentials)
        if self.context.source == "login":
            advice = "check them and try again"
        else:
            advice = f"log in again: {login_command(self.context)}"
        client = HttpClient(
            self.api,
            timeouts=self._timeouts(),
            login_hint=advice,
            pool_size=self.concurrency,  # a pooled connection for each request in flight
            headers={"User-Agent": f"canfar/{__version__}", "Accept": "application/json"},
        )
        provider.apply(client.session, self.context, credentials)
        return client

    @property
    def server(self) -> str:
        return self.http.label

    def whoami(self) -> str | None:
        """The user the server knows us as (its ``x-vo-authenticated`` header)."""
        response = self.http.request("GET", "context")
        self._resources = parse.resources(self.http.json_of(response))
        self._resources_at = time.monotonic()
        return response.headers.get("x-vo-authenticated") or None

    # -- checks ------------------------------------------------------------------------------

    def validate(self, spec: SessionSpec) -> None:
        """What this server would refuse, drop or mangle, refused before anything is sent.

        Normalises the image (``skaha/astroml`` -> ``images.canfar.net/skaha/astroml:latest``),
        refuses commands, arguments and environment values the wire cannot carry, and checks
        cores, RAM and GPUs against the server's offer.
        """
        spec.image = wire.normalise_image(spec.image)
        wire.check_transport(spec)
        if spec.cores is None and spec.ram is None and not spec.gpus:
            return
        offer = self._offer()
        if offer is None:
            return
        label = self.http.label
        for what, value, options in (
            ("cores", spec.cores, offer.cores),
            ("ram", spec.ram, offer.ram),
        ):
            if value is None or not options:
                continue
            if float(int(value)) not in options:
                unit = " GB" if what == "ram" else ""
                raise ValidationError(
                    f"{what} {wire.number(value)}{unit} is not offered by {label} "
                    f"(choose from {wire.ranges(options)}{unit})"
                )
        if spec.gpus:
            if not offer.gpus:
                raise ValidationError(f"{label} offers no GPUs (asked for {spec.gpus})")
            if spec.gpus not in offer.gpus:
                raise ValidationError(
                    f"gpus {spec.gpus} is not offered by {label} "
                    f"(choose from {wire.ranges(offer.gpus)})"
                )

    def _offer(self) -> ResourceContext | None:
        """The server's resource options, or ``None`` when it cannot tell them."""
        try:
            return self.resources()
        except (AuthError, ConnectionFailed):
            raise
        except CanfarError:  # an old server without /context: the server checks alone
            return None

    # -- sessions ----------------------------------------------------------------------------

    def create_requests(self, spec: SessionSpec) -> list[dict[str, Any]]:
        """The create requests :meth:`create` would send for ``spec`` (``--dry-run``): method,
        URL and form fields of each, in replica order. The registry login header is named,
        never shown."""
        spec.image = wire.normalise_image(spec.image)
        wire.check_transport(spec)
        url = self.http.url("session")
        header = wire.REGISTRY_HEADER if self._registry_headers() else None
        return [
            {
                "method": "POST",
                "url": url,
                "form": [[key, value] for key, value in wire.create_form(spec, replica)],
                **({"headers": {header: "(the saved registry login)"}} if header else {}),
            }
            for replica in spec.replica_numbers()
        ]

    def create(self, spec: SessionSpec) -> LaunchResult:
        """One create request per replica, sent concurrently; failures kept per replica.

        A create POST is never sent twice. A replica whose request was sent but got no usable
        answer (timeout, broken connection, cut-off or garbled answer, redirect) is looked for
        by name on the server before it is reported: found, and not among the sessions listed
        before the launch sent anything (an earlier launch's session of the same name, which a
        re-run or a retry always has), it counts as launched; otherwise it is reported as
        uncertain (it may still appear), never as failed, so no relaunch hint names it.
        Replicas never sent are reported as such. Ctrl-C raises
        :class:`~canfar_core.errors.LaunchInterrupted` within about a second, with all of this.
        When every replica failed for certain, the first failure is raised as it is.
        """
        from canfar_core.concurrency import Interrupted

        spec.image = wire.normalise_image(spec.image)
        wire.check_transport(spec)
        http = self.http
        replicas = spec.replica_numbers()
        headers = self._registry_headers()
        earlier = self._sessions_before_launch()
        sent: set[int] = set()

        def launch(replica: int) -> str:
            sent.add(replica)
            try:
                response = http.request(
                    "POST",
                    "session",
                    data=wire.create_form(spec, replica),
                    headers=headers,
                    unsure="the session may have been created",
                )
            except RequestRefused as exc:
                exc.hint = exc.hint or _registry_hint(exc.message, spec.image)
                raise
            except Redirected as exc:
                raise AnswerLost(exc.message) from None
            session_id = response.content.decode("utf-8", "replace").strip()
            if not CREATED_ID.fullmatch(session_id):
                raise AnswerLost(
                    f"{http.label} accepted replica {replica} but its answer is not a session id "
                    f"({session_id[:60]!r}); the session may have been created"
                )
            return session_id

        try:
            results = concurrently(
                replicas, launch, limit=self.concurrency, stop_on=(AuthError, Unreachable)
            )
        except Interrupted as stop:
            tally = self._sort(stop.done, sent)
            for replica in stop.running:
                tally.uncertain[replica] = (
                    "interrupted while its request was under way; the session may have been created"
                )
            tally.not_sent.extend(stop.pending)
            with contextlib.suppress(CanfarError, KeyboardInterrupt):
                self._reconcile(spec, tally, earlier, deadline=1.0)
            done = tally.result()
            raise LaunchInterrupted(
                f"interrupted: {len(done.ids)} of {len(replicas)} replicas launched",
                ids=done.ids,
                failures=done.failures,
                uncertain=done.uncertain,
                not_sent=done.not_sent,
            ) from None
        tally = self._sort(results, sent)
        if tally.uncertain:
            try:
                self._reconcile(spec, tally, earlier)
            except CanfarError as exc:
                for replica in tally.uncertain:
                    tally.uncertain[replica] += f" (could not look for it: {exc})"
        if not tally.launched and not tally.uncertain and tally.failures:
            first_error = next(e for _, _, e in results if e is not None)
            if len(replicas) > 1 and first_error.hint is None:
                first_error.hint = f"all {len(replicas)} replicas failed"
            raise first_error
        return tally.result()

    @staticmethod
    def _sort(outcomes: list[tuple[int, str | None, CanfarError | None]], sent: set[int]) -> _Tally:
        """Launched ids by replica, certain failures, uncertain and never-sent replicas."""
        tally = _Tally()
        for replica, session_id, error in outcomes:
            if session_id is not None:
                tally.launched[replica] = session_id
            elif replica not in sent:
                tally.not_sent.append(replica)
            elif isinstance(error, AnswerLost):
                tally.uncertain[replica] = str(error)
            elif error is not None:
                tally.failures[replica] = str(error)
        return tally

    def _sessions_before_launch(self) -> set[str] | None:
        """The ids of the sessions on the server before a launch sends anything: none of them
        can be this launch's. ``None`` when the server could not list them (a server error):
        then no lost answer can be told from an earlier session of the same name. A login or
        a connection that fails is raised: the launch would fail alike, with nothing sent."""
        try:
            response = self.http.request("GET", "session")
            return {found.id for found in parse.sessions(self.http.json_of(response))}
        except (AuthError, Unreachable):
            raise
        except CanfarError:
            return None

    def _reconcile(
        self,
        spec: SessionSpec,
        tally: _Tally,
        earlier: set[str] | None,
        deadline: float | None = None,
    ) -> None:
        """Look for the uncertain replicas by name (``NAME-k``) among the server's sessions:
        one found that was not there before the launch (``earlier``) counts as launched."""
        if not tally.uncertain:
            return
        response = self.http.request("GET", "session", deadline=deadline)
        known = set(tally.launched.values())
        by_name: dict[str, list[SessionInfo]] = {}
        for found in parse.sessions(self.http.json_of(response)):
            if found.id not in known:
                by_name.setdefault(found.name.lower(), []).append(found)
        for replica in sorted(tally.uncertain):
            candidates = by_name.get(spec.replica_name(replica).lower(), [])
            new = [found for found in candidates if earlier is not None and found.id not in earlier]
            if new:
                tally.launched[replica] = new[0].id
                candidates.remove(new[0])
                del tally.uncertain[replica]
            elif candidates and earlier is None:
                tally.uncertain[replica] += (
                    f"; a session named {spec.replica_name(replica)} exists, but the sessions "
                    "could not be listed before the launch to tell it from an earlier one"
                )

    def _registry_headers(self) -> dict[str, str]:
        """The registry login header for a launch, when one is saved (it goes on nothing
        else: the service reads it only to pull an image that is not in its public cache)."""
        login = self.context.credentials().get(REGISTRY_LOGIN)
        value = wire.registry_auth(login)
        if value is None or not isinstance(login, dict):
            return {}
        saved_for = login.get("server")
        here = (self.context.url or "").strip().rstrip("/")
        if isinstance(saved_for, str) and saved_for.rstrip("/") != here:
            from canfar_core.errors import hide_url_passwords
            from canfar_core.output import warn_once

            warn_once(
                f"the registry login of context '{self.context.name}' was saved for "
                f"{hide_url_passwords(saved_for)}, not {hide_url_passwords(here)}: it is not "
                "sent (set it again: canfar auth registry set USERNAME)"
            )
            return {}
        self.http.secrets.update({value, str(login["secret"])})
        return {wire.REGISTRY_HEADER: value}

    @property
    def journal(self) -> Journal:
        """Finished sessions kept here: the service forgets them an hour after they end."""
        if self._journal is None:
            from urllib.parse import urlsplit

            from canfar_plugins._support.journal import Journal

            # the server too: the ad hoc contexts (a URL and a token) share one name
            where = f"{self.context.name}@{urlsplit(self.api).netloc}"
            self._journal = Journal(self.name, where)
        return self._journal

    def list(self, kind: str | None = None, status: str | None = None) -> _Sessions:
        return self.list_matching(kind, None if status is None else [status])

    def list_matching(
        self, kind: str | None = None, statuses: Collection[str] | None = None
    ) -> _Sessions:
        """The server's sessions, then the finished ones kept here that it no longer lists
        (read only when a finished status is asked for: ``canfar ps`` pays nothing for them)."""
        params: _Params = []
        if kind:
            params.append(("type", kind))
        if statuses is not None and len(statuses) == 1:
            params.append(("status", next(iter(statuses))))
        live = parse.sessions(self.http.get_json("session", params=params))
        new = self.journal.keep(live)
        for session_id in new[: self.journal.logs_per_listing()] if new else ():
            for _ in self.iter_logs(session_id):  # read through: the journal keeps it
                pass
        seen = {s.id for s in live}
        if statuses is not None:
            live = [s for s in live if s.status in statuses]
            if not set(statuses) & set(FINAL_STATUSES):
                return live
        kept = self.journal.kept(besides=seen)
        return live + [
            s
            for s in kept
            if (not kind or s.kind == kind) and (statuses is None or s.status in statuses)
        ]

    def info(self, session_id: str) -> SessionInfo:
        try:
            found = parse.session(self.http.get_json(f"session/{quote_id(session_id)}"))
        except NotFound:
            kept = self.journal.get(session_id)
            if kept is None:
                raise
            return kept
        self.journal.keep([found])
        return found

    def logs(self, session_id: str) -> str:
        # The service answers an unknown id with an empty 200: so do we. Streamed, so that a
        # big log is held to the pace of its pieces, not to one deadline for all of it.
        return b"".join(self.iter_logs(session_id)).decode("utf-8", "replace")

    def iter_logs(self, session_id: str) -> Iterator[bytes]:
        """The output so far, piece by piece as it downloads (never all of it in memory); a
        finished session's is kept as it passes, and answered from there once forgotten."""
        journal = self.journal
        kept = journal.log_path(session_id)
        if kept is not None and session_id in journal:
            try:
                live = self.info(session_id)
            except NotFound:
                live = None
            if live is None or live.kept:
                return iter([kept.read_bytes()])
        pieces = self.http.iter_bytes(f"session/{quote_id(session_id)}", params={"view": "logs"})
        return journal.keep_log(session_id, pieces)

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """The output as it grows; ends after the session has finished or vanished.

        The service has no way to ask for the output from an offset (no range, no ``since``),
        so each poll downloads the whole log again: it is streamed, the part already shown is
        checked against a digest (not kept), only the new part is decoded. While nothing new
        comes the polls slow down, up to :data:`FOLLOW_POLL_MAX` seconds apart.
        """

        seen_length, seen_digest = 0, b""
        first = True
        pause = poll
        while True:
            try:
                finished = self.info(session_id).status in FINAL_STATUSES
            except NotFound:
                if first:
                    raise
                finished = True
            first = False
            reading = _LogPass(seen_length, seen_digest)
            for piece in self.iter_logs(session_id):
                text = reading.feed(piece)
                if reading.rewritten:
                    break
                if text:
                    yield text
            if reading.rewritten or reading.length < seen_length:  # cut or rewritten: anew
                reading = _LogPass(0, b"")
                for piece in self.iter_logs(session_id):
                    text = reading.feed(piece)
                    if text:
                        yield text
            tail = reading.finish()
            if tail:
                yield tail
            seen_length, seen_digest = reading.length, reading.digest.digest()
            if finished:
                return
            pause = poll if reading.printed else min(FOLLOW_POLL_MAX, pause * 2)
            time.sleep(pause)

    def events(self, session_id: str) -> str:
        return self.http.get_text(f"session/{quote_id(session_id)}", params={"view": "events"})

    def delete(self, session_ids: _Ids) -> dict[str, str | None]:
        """Delete sessions; a kept copy goes with its session (and alone once forgotten)."""
        done = self._each(session_ids, "DELETE", None)
        for session_id in done:
            if self.journal.forget(session_id):
                done[session_id] = None
        return done

    def renew(self, session_ids: _Ids) -> dict[str, str | None]:
        return self._each(session_ids, "POST", [("action", "renew")])

    def _each(self, session_ids: _Ids, method: str, data: _Params | None) -> dict[str, str | None]:
        """``method`` on every session at once (bounded); per-id outcomes."""
        paths = {session_id: f"session/{quote_id(session_id)}" for session_id in session_ids}
        http = self.http
        results = concurrently(
            session_ids,
            lambda session_id: http.request(method, paths[session_id], data=data),
            limit=self.concurrency,
            stop_on=(AuthError, ConnectionFailed),
        )
        return self._outcome([(session_id, error) for session_id, _, error in results])

    @staticmethod
    def _outcome(results: _Outcomes) -> dict[str, str | None]:
        """Per-id outcomes; refused credentials are raised instead. A server that cannot be
        reached is each id's failure, as in ``info``: ``errors=`` decides what the caller hears."""
        for _, error in results:
            if isinstance(error, AuthError) and not isinstance(error, PermissionDenied):
                raise error
        return {session_id: None if error is None else str(error) for session_id, error in results}

    # -- the platform ------------------------------------------------------------------------

    def availability(self) -> bool:
        """The service's VOSI availability (``{root}/availability``): ``<available>true``."""
        http = self.http
        root = _VERSIONED.sub("", self.api)
        timeout = (http.timeouts.connect, http.timeouts.read)
        response = http.session.get(f"{root}/availability", timeout=timeout)
        if response.status_code != 200:
            raise ServerError(
                f"{http.label} availability: HTTP {response.status_code}",
                status=response.status_code,
            )
        return re.search(r"<(?:\w+:)?available>\s*true\s*<", response.text or "") is not None

    def stats(self) -> PlatformStats:
        return parse.stats(self.http.get_json("session", params={"view": "stats"}))

    def images(self, kind: str | None = None) -> _Images:
        params = {"type": kind} if kind else None
        return parse.images(self.http.get_json("image", params=params))

    def resources(self) -> ResourceContext:
        """What one session may request (asked again after :data:`OFFER_TTL` seconds)."""
        if self._resources is None or time.monotonic() - self._resources_at > OFFER_TTL:
            self._resources = parse.resources(self.http.get_json("context"))
            self._resources_at = time.monotonic()
        return self._resources

    def open_url(self, session_id: str) -> str:
        found = self.info(session_id)
        if not found.connect_url:
            raise Unsupported(f"session {session_id} is {found.kind}: it has no URL to open")
        if found.status != "Running":
            raise CanfarError(
                f"session {session_id} is {found.status}; its URL works once it is Running"
            )
        return found.connect_url
