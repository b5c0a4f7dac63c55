"""The session API: one code path for the Python API and every CLI command.

:class:`Session` resolves the context (where sessions run), builds the backend through the
registry, and runs the plugin hooks around every launch. Its methods are the platform client's
(``create``, ``fetch``, ``info``, ``logs``, ``events``, ``destroy``, ``destroy_with``, ``renew``,
``connect``, ``stats``) and this project's own (``wait``, ``follow_logs``, ...); each act has one
implementation. :mod:`canfar_core.async_sessions` derives ``AsyncSession`` from it.

Every failure is a :class:`~canfar_core.errors.CanfarError`: a network failure that a backend lets
escape as a library exception (``requests``, ``urllib3``, ``ConnectionError``) is turned into
:class:`~canfar_core.errors.ConnectionFailed` here, so callers never need to know which HTTP
library a backend uses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar

from canfar_core.backend import Backend, adapted
from canfar_core.contexts import Context, active_context, adhoc_context, get_context
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConnectionFailed,
    LaunchError,
    LaunchRequestError,
    ServerError,
    SessionRequestError,
    ValidationError,
)
from canfar_core.manager import get_manager
from canfar_core.models import (
    FINAL_STATUSES,
    Image,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionKind,
    SessionSpec,
)
from canfar_core.ordering import natural_order
from canfar_core.public_names import canonical_kind
from canfar_core.validation import (
    check_ids,
    check_seconds,
    check_session_id,
    check_spec,
    check_types,
    default_name,
    listed_values,
    name_matcher,
    replica_list,
    statuses,
)

#: One session id, or several.
IdOrIds = str | Sequence[str]
#: One status, or several.
StatusOrStatuses = str | Sequence[str]
#: ``ignore``: a failed id is logged and left out of the result; ``raise``: SessionRequestError.
ErrorMode = Literal["ignore", "raise"]
#: What :meth:`Session.wait` hands its ``progress`` callback on every poll.
Progress = Callable[[dict[str, SessionInfo]], None]

#: Where per-session failures are logged (``errors="ignore"``) and verbose logs go.
log = logging.getLogger("canfar.sessions")
#: Statuses after which a session will never be Running again.
ENDED_STATUSES = (*FINAL_STATUSES, "Terminating")
#: Polls in a row that may fail (a server error, no answer) before :meth:`Session.wait` gives up.
WAIT_TRANSIENT_FAILURES = 5

T = TypeVar("T")


class WaitTimeout(CanfarError, TimeoutError):
    """:meth:`Session.wait` gave up before every session reached the wanted status.

    ``pending`` lists the ids still not there; ``sessions`` holds the last state seen of every
    session waited for.
    """

    def __init__(
        self, message: str, *, pending: list[str], sessions: dict[str, SessionInfo]
    ) -> None:
        super().__init__(message)
        self.pending = pending
        self.sessions = sessions


def _context(
    context: str | None,
    backend: str | None,
    url: str | None,
    token: str | None,
    certificate: str | os.PathLike[str] | None,
) -> Context:
    """The context a :class:`Session` with these arguments talks to: ``url`` with a ``token``
    (or an X.509 ``certificate``; the token wins) is one of its own; ``token`` or
    ``certificate`` alone replace the credentials of the chosen context."""
    check_types(str, "a string", context=context, backend=backend, url=url, token=token)
    check_types((str, os.PathLike), "a string", certificate=certificate)
    token = str(token).strip() if token else None
    cert = os.fspath(certificate) if certificate else None
    if url:
        if not token and not cert:
            raise ValidationError("a url needs a token (or a certificate) too")
        return adhoc_context(url, token, cert, backend=backend, source="argument")
    chosen = get_context(context) if context else active_context()
    if not backend and not context and chosen.source != "environment":
        from canfar_core.config import config_file, saved_setting

        backend = saved_setting(config_file().read(), "defaults.backend")
    if backend and backend != chosen.backend:
        chosen = Context(name=backend, backend=backend, source="argument")
    if token:
        chosen.env_secrets["token"] = token
        if chosen.auth == "x509":  # a token wins over a certificate
            chosen.auth, chosen.options = "token", {}
    elif cert and chosen.backend != "local":
        chosen.auth = "x509"
        chosen.options["cert"] = cert
    return chosen


def _registry_login(config: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The container-registry login of ``config`` (``{"registry": {"username", "secret"}}``)."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ValidationError(f"config must be a mapping, not {type(config).__name__}")
    registry = config.get("registry") or {}
    username, secret = registry.get("username") or None, registry.get("secret") or None
    if username is None and secret is None:
        return None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise ValidationError("a registry login needs both a username and a secret")
    return {"username": username, "secret": secret}


def _is_network_error(exc: BaseException) -> bool:
    """An HTTP library's exception, or the operating system's word that a connection failed."""
    module = (type(exc).__module__ or "").split(".", 1)[0]
    return module in ("requests", "urllib3", "httpx", "http") or isinstance(
        exc, (ConnectionError, TimeoutError)
    )


@contextlib.contextmanager
def _translated(backend: str) -> Iterator[None]:
    """Turn a library's network exception that escaped a backend into ConnectionFailed."""
    try:
        yield
    except CanfarError:
        raise
    except Exception as exc:
        if not _is_network_error(exc):
            raise
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConnectionFailed(f"the {backend} backend could not be reached: {detail}") from exc


class Session:
    """Launch and manage sessions on the active backend (or the one given).

    With no argument, the backend, server and credentials come from the active context: the
    local backend when nobody is logged in, the CANFAR platform after ``canfar auth login``.

    >>> from canfar.sessions import Session
    >>> session = Session()                      # local unless logged in to CANFAR
    >>> ids = session.create(image="skaha/astroml:latest", cmd="python", args=["job.py"])

    Args:
        context: a saved context's name, instead of the active one.
        backend: a backend's name (``local``, ``canfar``, or one a plugin adds).
        url: a Skaha service URL, used with ``token`` instead of any saved context.
        token: a bearer token for ``url`` (or replacing the context's own).
        certificate: an X.509 proxy certificate file, instead of a token.
        timeout, concurrency, errors: see the configuration page; they read back as given.
        config: ``{"registry": {"username": ..., "secret": ...}}``, a private image's
            registry login, sent with launches only.
    """

    def __init__(
        self,
        *,
        context: str | None = None,
        backend: str | None = None,
        url: str | None = None,
        token: str | None = None,
        certificate: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        errors: ErrorMode | None = None,
        config: Any = None,
    ) -> None:
        from canfar_core.client_settings import resolve

        self.timeout, self.concurrency, self.errors = resolve(timeout, concurrency, errors)
        certificate = certificate or os.environ.get("CANFAR_CERTIFICATE", "").strip() or None
        self.context = _context(context, backend, url, token, certificate)
        if self.timeout is not None:
            self.context.options["timeout"] = self.timeout
        if self.concurrency is not None:
            self.context.options["concurrency"] = self.concurrency
        registry = _registry_login(self._plain_config(config))
        if registry is not None:
            from canfar_core.auth import REGISTRY_LOGIN

            self.context.env_secrets[REGISTRY_LOGIN] = registry
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _plain_config(config: Any) -> Mapping[str, Any] | None:
        """``config`` as this class takes it: a mapping (``canfar.sessions.Session`` also
        takes the platform client's ``Configuration``)."""
        return config

    def __repr__(self) -> str:
        return f"Session(context={self.context.name!r}, backend={self.context.backend!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the backend holds open (HTTP connections, database handles)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    @property
    def backend(self) -> Backend:
        """The backend object sessions run on, built on first use."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    factory = get_manager().registry("backends").get(self.context.backend)
                    self._backend = adapted(factory(self.context), self.context)
        return self._backend

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with _translated(self.context.backend):
            return method(*args, **kwargs)

    def _errors(self, errors: object) -> str:
        if errors is None:
            return self.errors
        from canfar_core.client_settings import check_errors

        return check_errors(errors)

    # -- launching -------------------------------------------------------------------------

    def kinds(self) -> dict[str, SessionKind]:
        """The session kinds registered by plugins, by name."""
        registry = get_manager().registry("session_kinds")
        return {name: registry.get(name) for name in registry}

    def _check_kind(self, kind: str | None, *, listing: bool = False) -> str | None:
        return None if kind is None else canonical_kind(kind, list(self.kinds()), listing=listing)

    def create(
        self,
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
        errors: ErrorMode | None = None,
        **options: Any,
    ) -> list[str]:
        """Launch ``replicas`` sessions and return their ids, in replica order.

        The positional order is the platform client's: ``name, image, cores, ram, kind, gpu,
        cmd, args, env, replicas``; ``name`` may also be a whole request (a
        :class:`~canfar_core.models.SessionSpec`, completed in place: the name it got, what
        plugins changed). Each replica gets ``REPLICA_ID`` (1..replicas) and ``REPLICA_COUNT``
        in its environment. With several replicas, replica ``k`` is named ``NAME-k``; with no
        name, one is made from the image. ``args`` is a list of words (a string is split as a
        shell would). ``ram`` is in GB; ``gpu`` is the number of GPUs. Values left out come
        from ``canfar config set defaults.*``. Other keyword arguments are the backend's own
        options (``runtime`` and ``workdir`` for the local backend); any other keyword is a
        :class:`TypeError`.

        ``only_replicas`` launches just those replica numbers of ``replicas``, each with the
        ``REPLICA_ID``, ``REPLICA_COUNT`` and name it would have had in the full launch, so a
        failed replica runs again on the same share of the work: ``create("fit", image,
        replicas=100, only_replicas=[3, 7])`` starts ``fit-3`` and ``fit-7`` only.

        Raises :class:`~canfar_core.errors.ValidationError` before anything is sent when a value
        is not acceptable and :class:`~canfar_core.errors.PolicyError` when a plugin refuses the
        request. When replicas fail, ``errors`` decides (default: the session's): ``"ignore"``
        logs each failure as a warning and returns the ids that launched (``[]`` when none
        did); ``"raise"`` raises :class:`~canfar_core.errors.LaunchRequestError` (both a
        ``SessionRequestError`` and a ``LaunchError``: ``ids``/``results`` of the replicas that
        launched, ``failures``/``errors`` of the others).
        """
        mode = self._errors(errors)
        if isinstance(name, SessionSpec):
            given = (image, cores, ram, kind, gpu, cmd, args, env, only_replicas, *options.values())
            if replicas != 1 or any(value is not None for value in given):
                raise ValidationError("give the request's fields in the SessionSpec, not beside it")
            spec = self._defaults(name)
        else:
            spec = self._spec(name, image, cores, ram, kind, gpu, cmd, args, env, replicas)
            spec.only_replicas, spec.options = replica_list(only_replicas), dict(options)
        self._check_options(spec.options)
        self._prepare(spec)
        try:
            return self._launch(spec)
        except (AuthError, ValidationError, KeyboardInterrupt):
            raise
        except CanfarError as exc:
            launch = exc if isinstance(exc, LaunchError) else None
            if launch is None:  # the backend refused the launch whole
                reasons = dict.fromkeys(spec.replica_numbers(), str(exc))
                launch = LaunchError(str(exc), ids=[], failures=reasons, names=_names_of(spec))
            if mode == "raise":
                raise LaunchRequestError(launch) from exc
            for replica, reason in sorted({**launch.failures, **launch.uncertain}.items()):
                log.warning("create: replica %s of %s failed: %s", replica, spec.name, reason)
            return list(launch.ids)

    def preview(self, spec: SessionSpec) -> list[dict[str, Any]]:
        """What :meth:`create` would send for ``spec`` (completed in place, as ``create``
        does), one dictionary per replica; nothing is sent. ``canfar create --dry-run``."""
        self._check_options(spec.options)
        self._prepare(self._defaults(spec))
        return self._call(self.backend.create_requests, spec)

    def _spec(
        self,
        name: str | None,
        image: str | None,
        cores: float | None,
        ram: float | None,
        kind: str | None,
        gpu: int | None,
        cmd: str | None,
        args: str | Iterable[str] | None,
        env: Mapping[str, str] | None,
        replicas: int,
    ) -> SessionSpec:
        """The request of :meth:`create`'s arguments, config defaults not yet applied."""
        check_types(str, "a string", name=name, image=image, cmd=cmd)
        if args is not None and not isinstance(args, str):
            args = listed_values(args, "args", "a string")
        if env is not None and not isinstance(env, Mapping):
            raise ValidationError(f"env must be a mapping of names to values, not {env!r}")
        if isinstance(args, str):
            try:
                args = shlex.split(args)
            except ValueError as exc:  # "No closing quotation", "No escaped character"
                raise ValidationError(
                    f"args {args!r} cannot be split into words: {str(exc).lower()} "
                    "(pass a list of words to keep quotes as they are)"
                ) from None
        spec = SessionSpec(kind=kind or "", image=image or "", name=name or "", cmd=cmd)
        spec.args, spec.env, spec.replicas = list(args or []), dict(env or {}), replicas
        spec.cores, spec.ram, spec.gpus = cores, ram, gpu
        return self._defaults(spec)

    def _defaults(self, spec: SessionSpec) -> SessionSpec:
        """``spec`` with what it leaves out taken from ``canfar config set defaults.*``."""
        from canfar_core.config import config_file, saved_setting

        saved = config_file().read()
        for key in ("kind", "image", "cores", "ram", "gpus"):
            if getattr(spec, key) in (None, ""):
                setattr(spec, key, saved_setting(saved, f"defaults.{key}"))
        spec.kind = spec.kind.lower() if isinstance(spec.kind, str) else spec.kind or "headless"
        spec.image = spec.image or ""
        spec.backend = self.context.backend
        return spec

    def _check_options(self, options: Mapping[str, Any]) -> None:
        """Backend options the backend knows; an unknown keyword is a TypeError, as Python's."""
        known = self.backend.option_names
        unknown = sorted(set(options) - set(known)) if known is not None else []
        if unknown:
            raise TypeError(
                f"create() got an unexpected keyword argument '{unknown[0]}' "
                f"(the {self.context.backend} backend's own options: {', '.join(known or ())})"
            )

    def _prepare(self, spec: SessionSpec) -> None:
        """Make ``spec`` what a launch sends: plugins see it, the default name is filled in,
        and it is checked (generic checks, the kind's rules, the backend's). Nothing is sent."""
        get_manager().hook.canfar_prepare_session(spec=spec)  # may fill in a site's image
        if not spec.image:
            raise ValidationError(
                "an image is required (for example skaha/astroml:latest), or a default one: "
                "canfar config set defaults.image IMAGE"
            )
        spec.name = spec.name or default_name(spec.image)
        kinds = self.kinds()
        spec.kind = spec.kind if spec.kind in kinds else canonical_kind(spec.kind, list(kinds))
        kind = kinds[spec.kind]
        check_spec(spec, accepts_command=kind.accepts_command, max_replicas=kind.max_replicas)
        self._call(self.backend.validate, spec)

    def _launch(self, spec: SessionSpec) -> list[str]:
        """Send a prepared request and tell plugins; :class:`LaunchError` when replicas failed."""
        from canfar_core.errors import LaunchInterrupted

        try:
            result = self._call(self.backend.create, spec)
        except LaunchInterrupted as exc:
            self._launched(spec, exc.ids)
            exc.names = exc.names or _names_of(spec, [*exc.failures, *exc.uncertain, *exc.not_sent])
            raise
        self._launched(spec, result.ids)
        unlaunched = [*result.failures, *result.uncertain, *result.not_sent]
        if unlaunched:
            total, count = len(spec.replica_numbers()), len(unlaunched)
            message = f"{count} of {total} replicas failed to launch"
            if result.uncertain:
                message = (
                    f"{count} of {total} replicas are not known to have launched "
                    f"({len(result.uncertain)} may exist)"
                )
            raise LaunchError(
                message,
                ids=list(result.ids),
                failures=dict(result.failures),
                uncertain=dict(result.uncertain),
                not_sent=list(result.not_sent),
                names=_names_of(spec, unlaunched),
            )
        return list(result.ids)

    @staticmethod
    def _launched(spec: SessionSpec, ids: list[str]) -> None:
        """Tell plugins what launched; a launch is never undone by an observer."""
        if not ids:
            return
        try:
            get_manager().hook.canfar_session_launched(spec=spec, ids=list(ids))
        except Exception as exc:
            sys.stderr.write(f"canfar: warning: canfar_session_launched failed: {exc}\n")

    # -- looking -------------------------------------------------------------------------

    def fetch(
        self,
        kind: str | None = None,
        status: StatusOrStatuses | None = None,
        *,
        name: str | None = None,
    ) -> list[SessionInfo]:
        """Your sessions, optionally only of one kind, in one status (or several), with a
        ``name`` that matches (as :meth:`destroy_with`'s ``prefix``): by creation time, then
        replica number, whatever order the backend gave.

        Each record is the platform's dictionary (``s["id"]``, ``s.get("startTime")``,
        ``json.dumps(s)``) with typed attributes too (``s.id``, ``s.status``). The platform
        client's words are accepted: ``status="Succeeded"`` means ``Completed``,
        ``kind="desktop-app"`` lists the applications running inside desktops.
        """
        matches = name_matcher(name)
        kind = self._check_kind(kind, listing=True)
        wanted = statuses(status)
        found = self._call(self.backend.list_matching, kind=kind, statuses=wanted)
        return [s for s in natural_order(found) if matches(s.name)]

    def for_each(
        self, ids: IdOrIds, work: Callable[[str], T], *, errors: ErrorMode | None = None
    ) -> dict[str, T]:
        """``work(id)`` for every id, ``concurrency`` at a time: the results by id, in the order
        given. The fan-out of :meth:`info`, :meth:`logs`, :meth:`events` and :meth:`urls`.

        Failures follow ``errors``: with ``"ignore"`` each is logged as a warning naming the id
        and left out; with ``"raise"``, :class:`~canfar_core.errors.SessionRequestError` once
        every id was tried (``results``, and ``errors`` by id). Refused credentials and
        invalid input are raised at once whatever ``errors`` says; once the server cannot be
        reached, the ids not yet tried fail with that error.
        """
        return self._each(ids, work, errors, dict)

    def _each(
        self, ids: IdOrIds, work: Callable[[str], T], errors: object, shape: Callable[..., Any]
    ) -> Any:
        from canfar_core.concurrency import concurrently

        mode = self._errors(errors)
        limit = self.concurrency or self.backend.concurrency
        stop_on = (AuthError, ConnectionFailed)
        results: dict[str, T] = {}
        failures: dict[str, CanfarError] = {}
        for sid, result, error in concurrently(check_ids(ids), work, limit=limit, stop_on=stop_on):
            if isinstance(error, (AuthError, ValidationError)):
                raise error
            if error is None:
                results[sid] = result  # type: ignore[assignment]
            else:
                failures[sid] = error
        shaped = shape(results)
        _report(getattr(work, "__name__", "request"), mode, shaped, failures)
        return shaped

    def info(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> list[SessionInfo]:
        """The sessions ``ids`` (one id or several), in the order given: dictionaries as
        :meth:`fetch` returns them. A session that cannot be read (no such id, a server error)
        is logged and left out, or, with ``errors="raise"``,
        :class:`~canfar_core.errors.SessionRequestError` names each (a missing one as
        :class:`~canfar_core.errors.NotFound`)."""

        def info(session_id: str) -> SessionInfo:
            return self._call(self.backend.info, session_id)

        return self._each(ids, info, errors, _values)

    def logs(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> dict[str, str] | None:
        """What each session printed, exactly as printed, by id: ``{id: text}``.

        With ``verbose=True`` the text goes to the ``canfar.sessions`` logger (at INFO: see
        ``canfar.configure_logging``) and ``None`` is returned. Failures as for :meth:`info`.
        Companions: :meth:`follow_logs` (as it grows), :meth:`stream_logs` (as bytes).
        """
        check_types(bool, "True or False", verbose=verbose)

        def logs(session_id: str) -> str:
            return self._call(self.backend.logs, session_id)

        return _logged(self._each(ids, logs, errors, dict), verbose)

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """:meth:`logs` of one session as it grows, until the session ends."""
        session_id = check_session_id(session_id)
        chunks = self._call(self.backend.follow_logs, session_id, poll=poll)
        while True:
            with _translated(self.context.backend):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def stream_logs(self, session_id: str) -> Iterator[bytes]:
        """:meth:`logs` of one session as bytes, in pieces (a large log is never held whole)."""
        pieces = self._call(self.backend.iter_logs, check_session_id(session_id))
        while True:
            with _translated(self.context.backend):
                piece = next(pieces, None)
            if piece is None:
                return
            yield piece

    def events(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> list[dict[str, str]] | None:
        """Each session's scheduling events: ``[{id: text}, ...]`` in the order given.

        ``verbose=True`` logs them instead, as :meth:`logs` does. Failures as for :meth:`info`.
        """
        check_types(bool, "True or False", verbose=verbose)

        def events(session_id: str) -> str:
            return self._call(self.backend.events, session_id)

        return _logged(self._each(ids, events, errors, _each_alone), verbose)

    def stats(self) -> PlatformStats:
        """Cores and memory in use and available: the platform's dictionary
        (``stats()["cores"]``), with typed attributes too."""
        return self._call(self.backend.stats)

    def images(self, kind: str | None = None) -> list[Image]:
        """The images on offer, optionally only those for one session kind."""
        return self._call(self.backend.images, kind=self._check_kind(kind))

    def resources(self) -> ResourceContext:
        """What one session may request: the platform's dictionary (``["cores"]``,
        ``.get("memoryGB")``), with typed attributes too (``.cores``, ``.ram``, ``.gpus``)."""
        return self._call(self.backend.resources)

    def available(self) -> bool:
        """Whether the backend says it is available; one that cannot say is ``False``, with the
        reason logged as a warning."""
        try:
            return bool(self._call(self.backend.availability))
        except CanfarError as exc:
            log.warning("availability: %s", exc)
            return False

    def urls(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, str]:
        """The page of each interactive session, by id: what :meth:`connect` opens. A session
        with no page (not running, not interactive) fails as in :meth:`info`."""

        def connect(session_id: str) -> str:
            return self._call(self.backend.open_url, session_id)

        return self.for_each(ids, connect, errors=errors)

    def connect(self, ids: IdOrIds) -> None:
        """Open each running session in the web browser; one that is not running (or has no
        page) is logged as a warning and skipped."""
        import webbrowser

        for url in self.urls(ids, errors="ignore").values():
            webbrowser.open(url)

    # -- ending ------------------------------------------------------------------------------

    def destroy(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Delete sessions (many at once where the backend can): ``{id: True}`` for each
        deleted, ``{id: False}`` for each not. A session not deleted is logged as a warning
        with the reason, or, with ``errors="raise"``,
        :class:`~canfar_core.errors.SessionRequestError` gives every reason by id."""
        mode = self._errors(errors)
        return _booleans("destroy", mode, self._call(self.backend.delete, check_ids(ids)))

    def renew(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Renew interactive sessions' lifetime; shaped like :meth:`destroy`'s result."""
        mode = self._errors(errors)
        return _booleans("renew", mode, self._call(self.backend.renew, check_ids(ids)))

    def destroy_with(
        self,
        prefix: str | None = None,
        *,
        kind: str | None = "headless",
        status: StatusOrStatuses | None = "Completed",
        errors: ErrorMode | None = None,
    ) -> dict[str, bool]:
        """Delete every session whose name matches ``prefix``, of ``kind``, in ``status``; by
        default finished headless ones. Returns :meth:`destroy`'s result (``{}`` when nothing
        matched); ``fetch(kind, status, name=prefix)`` shows what it would delete.

        A ``prefix`` holding regular-expression characters (``.^$*+?{}[]\\|()``) is a regular
        expression searched for in the name (``"^fit-[0-9]+$"``); any other is matched at the
        start of the name. Case is ignored: the platform stores names in lower case.
        """
        mode = self._errors(errors)
        check_types(str, "a string", prefix=prefix)
        found = self.fetch(kind, status, name=prefix)
        return self.destroy([s.id for s in found], errors=mode) if found else {}  # type: ignore[arg-type]

    # -- waiting -----------------------------------------------------------------------------

    def wait(
        self,
        ids: IdOrIds,
        status: StatusOrStatuses = ("Running", *FINAL_STATUSES),
        timeout: float | None = None,
        poll: float = 2.0,
        progress: Progress | None = None,
    ) -> dict[str, SessionInfo]:
        """Block until every session has reached one of ``status``, or ``timeout`` seconds pass.

        By default, waits until each session is Running or has ended. A session that ends
        (Completed, Failed or Terminating) counts as arrived whatever ``status`` asks for: it
        will never change again, so check the returned statuses. ``progress`` is called with
        every session's state after each poll.

        Returns the last state of every session, by id. Raises :class:`WaitTimeout` on timeout
        (also a :class:`TimeoutError`), naming the sessions still not there, and
        :class:`~canfar_core.errors.NotFound` when a session disappears. A poll that fails with
        a server error or no answer is tried again at the next poll; only
        :data:`WAIT_TRANSIENT_FAILURES` failures in a row end the wait (with that error).
        """
        check_seconds(timeout=timeout, poll=poll)
        wanted = set(statuses(status) or [])
        if not wanted:
            raise ValidationError("wait needs at least one status to wait for")
        targets = check_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        current: dict[str, SessionInfo] = {}
        misses = 0
        while True:
            try:
                current = self._states(targets)
            except ServerError:  # a 5xx or no answer: the sessions are still there
                misses += 1
                if misses >= WAIT_TRANSIENT_FAILURES:
                    raise
            else:
                misses = 0
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

    def _states(self, targets: list[str]) -> dict[str, SessionInfo]:
        """The current state of every target: one listing for many, ``info`` for the rest."""
        from canfar_core.errors import NotFound

        seen: dict[str, SessionInfo] = {}
        if len(targets) > 2:
            seen = {s.id: s for s in self._call(self.backend.list) if s.id in set(targets)}
        for session_id in targets:
            if session_id not in seen:
                try:
                    seen[session_id] = self._call(self.backend.info, session_id)
                except NotFound:
                    raise NotFound(f"session {session_id} no longer exists") from None
        return {session_id: seen[session_id] for session_id in targets}


def _report(what: str, mode: str, results: object, failures: Mapping[Any, CanfarError]) -> None:
    """Each failure logged (``errors="ignore"``), or SessionRequestError holding them all."""
    for session_id, error in failures.items() if mode == "ignore" else ():
        log.warning("%s: %s: %s", what, session_id, error)
    if failures and mode == "raise":
        count = len(failures)
        raise SessionRequestError(
            f"{what} failed for {count} session{'s' if count != 1 else ''}: "
            + ", ".join(map(str, failures)),
            results=results,
            errors=dict(failures),
        )


def _values(results: dict[str, Any]) -> list[Any]:
    return list(results.values())


def _each_alone(results: dict[str, str]) -> list[dict[str, str]]:
    return [{sid: text} for sid, text in results.items()]


def _logged(results: Any, verbose: bool) -> Any:
    """``results``, or (``verbose``) each text logged at INFO and ``None``."""
    if not verbose:
        return results
    for entry in results if isinstance(results, list) else [results]:
        for session_id, text in entry.items():
            log.info("Session ID: %s\n%s", session_id, text)
    return None


def _booleans(what: str, mode: str, reasons: dict[str, str | None]) -> dict[str, bool]:
    """A backend's ``{id: None or reason}`` as ``{id: done}``, failures as ``errors`` says."""
    failures = {sid: CanfarError(reason) for sid, reason in reasons.items() if reason}
    result = {sid: reason is None for sid, reason in reasons.items()}
    _report(what, mode, result, failures)
    return result


def _names_of(spec: SessionSpec, replicas: Iterable[int] | None = None) -> dict[int, str]:
    """The session name of each replica number (every replica's by default)."""
    chosen = spec.replica_numbers() if replicas is None else replicas
    return {k: spec.replica_name(k) for k in sorted(set(chosen))}


def _pending(current: dict[str, SessionInfo], wanted: set[str]) -> list[str]:
    """Ids not yet in a wanted status. A session that has ended counts as arrived whatever was
    wanted: it will never change again, so waiting longer for it would only hang the caller."""
    return [
        sid
        for sid, info in current.items()
        if info.status not in wanted and info.status not in ENDED_STATUSES
    ]


__all__ = ["ENDED_STATUSES", "Session", "WaitTimeout"]
