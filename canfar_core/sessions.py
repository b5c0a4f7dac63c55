"""The session API: one code path for the Python API and every CLI command.

:class:`Session` resolves the context (where sessions run), builds the backend through the
registry, and runs the plugin hooks around every launch. :class:`AsyncSession` offers the same
methods as coroutines; it lives in :mod:`canfar_core.async_sessions` and is imported from here
only when asked for.

Every failure is a :class:`~canfar_core.errors.CanfarError`: a network failure that a backend lets
escape as a library exception (``requests``, ``urllib3``, ``ConnectionError``) is turned into
:class:`~canfar_core.errors.ConnectionFailed` here, so callers never need to know which HTTP
library a backend uses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from canfar_core.backend import Backend, filter_sessions
from canfar_core.contexts import Context, active_context, get_context
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConnectionFailed,
    LaunchError,
    LaunchInterrupted,
    LaunchRequestError,
    NotFound,
    ServerError,
    SessionRequestError,
    ValidationError,
)
from canfar_core.manager import get_manager
from canfar_core.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    Image,
    PlatformStats,
    ResourceContext,
    SessionInfo,
    SessionKind,
    SessionSpec,
)
from canfar_core.ordering import natural_order
from canfar_core.public_names import canonical_kind, canonical_status
from canfar_core.validation import check_session_id, check_spec

if TYPE_CHECKING:
    from canfar_core.async_sessions import AsyncSession

#: One session id, or several.
IdOrIds = str | Sequence[str]
#: One status, or several.
StatusOrStatuses = str | Sequence[str]
#: ``ignore``: a failed id is logged and left out of the result; ``raise``: SessionRequestError.
ErrorMode = Literal["ignore", "raise"]
#: What :meth:`Session.wait` hands its ``progress`` callback on every poll.
Progress = Callable[[dict[str, SessionInfo]], None]

#: Requests in flight at once for a call about many sessions, when ``concurrency`` is not set.
DEFAULT_CONCURRENCY = 16
#: A ``destroy_with`` prefix holding any of these is a regular expression.
REGEX_CHARACTERS = frozenset(".^$*+?{}[]\\|()")
#: Where per-session failures are logged (``errors="ignore"``) and verbose logs go.
log = logging.getLogger("canfar.sessions")

#: Statuses after which a session will never be Running again.
ENDED_STATUSES = (*FINAL_STATUSES, "Terminating")

T = TypeVar("T")


#: Polls in a row that may fail (a server error, no answer) before :meth:`Session.wait` gives up.
WAIT_TRANSIENT_FAILURES = 5


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


def check_ids(ids: IdOrIds) -> list[str]:
    """Checked ids, duplicates dropped, order kept; a bad id is refused before anything is sent."""
    listed = [ids] if isinstance(ids, str) else _listed_values(ids, "ids", "a session id")
    if not listed:
        raise ValidationError("no session id given")
    return list(dict.fromkeys(check_session_id(session_id) for session_id in listed))


def check_status(status: str | None) -> str | None:
    """The canonical spelling of a status (``completed`` -> ``Completed``, the public client's
    ``Succeeded`` -> ``Completed``); unknown ones refused."""
    if status is None:
        return None
    return canonical_status(status)


def _listed_values(value: object, name: str, one: str) -> list[Any]:
    """``value`` as a list when it is a list, tuple or other collection of values; anything
    else (a number, a mapping) is a :class:`ValidationError` naming ``name``."""
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return list(value)
    raise ValidationError(f"{name} must be {one} or a list of them, not {type(value).__name__}")


def _statuses(status: StatusOrStatuses | None) -> list[str] | None:
    if status is None:
        return None
    listed = [status] if isinstance(status, str) else _listed_values(status, "status", "a status")
    return [s for s in (check_status(item) for item in listed) if s is not None]


def _listed(only_replicas: Any) -> Any:
    """``only_replicas`` as a list; anything that is not a collection is left for validation
    to name. No more than :data:`MAX_REPLICAS` numbers are read (``range(1, 10**9)`` is refused
    before it fills the memory)."""
    if isinstance(only_replicas, Iterable) and not isinstance(only_replicas, (str, bytes)):
        import itertools

        from canfar_core.validation import MAX_REPLICAS

        listed = list(itertools.islice(only_replicas, MAX_REPLICAS + 1))
        if len(listed) > MAX_REPLICAS:
            raise ValidationError(
                f"only_replicas names more than {MAX_REPLICAS} replicas, more than a launch has"
            )
        return listed
    return only_replicas


def _check_text(**values: object) -> None:
    """Each of ``values`` is a string or ``None``; anything else is named."""
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be a string, not {type(value).__name__}")


def _check_flag(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, bool):
            raise ValidationError(f"{name} must be True or False, not {value!r}")


def _check_seconds(**values: object) -> None:
    """Each of ``values`` is a number of seconds (or ``None``)."""
    for name, value in values.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or value < 0):  # type: ignore[operator]
            raise ValidationError(f"{name} must be a number of seconds, not {value!r}")


def default_name(image: str) -> str:
    """A readable name for a session that was given none: the image's name and a short tag."""
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    base = "".join(ch if ch.isalnum() else "-" for ch in base.lower()).strip("-")[:40] or "session"
    import secrets  # here: it imports hashlib and hmac, which only a launch needs

    return f"{base}-{secrets.token_hex(2)}"


def make_context(
    context: str | None = None,
    backend: str | None = None,
    url: str | None = None,
    token: str | None = None,
    certificate: str | os.PathLike[str] | None = None,
) -> Context:
    """The context a :class:`Session` with these arguments talks to.

    ``url`` with a ``token`` (or an X.509 ``certificate`` file; the token wins when both are
    given) is a context of its own; ``token`` or ``certificate`` alone replace the credentials
    of the chosen context.
    """
    given: dict[str, object] = {"context": context, "backend": backend, "url": url}
    given.update(token=token, certificate=certificate)
    for name, value in given.items():
        path_like = name == "certificate" and isinstance(value, os.PathLike)
        if value is not None and not isinstance(value, str) and not path_like:
            raise ValidationError(f"{name} must be a string, not {type(value).__name__}")
    token = str(token).strip() if token else None
    cert = os.fspath(certificate) if certificate else None
    if url:
        if not token and not cert:
            raise ValidationError("a url needs a token (or a certificate) too")
        return Context(
            name="adhoc",
            backend=backend or "canfar",
            url=url,
            auth="token" if token else "x509",
            options={} if token else {"cert": cert},
            source="argument",
            env_secrets={"token": token} if token else {},
        )
    chosen = get_context(context) if context else active_context(backend=backend)
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


def registry_login_of(config: object) -> dict[str, str] | None:
    """A container-registry login from ``config``: the public client's ``Configuration`` (its
    ``registry`` with ``username`` and ``secret``), or a mapping of the same shape."""
    if config is None:
        return None
    registry = (
        config.get("registry") if isinstance(config, Mapping) else getattr(config, "registry", None)
    )
    if registry is None:
        return None

    def field(name: str) -> str | None:
        value = (
            registry.get(name) if isinstance(registry, Mapping) else getattr(registry, name, None)
        )
        reveal = getattr(value, "get_secret_value", None)  # a pydantic SecretStr
        value = reveal() if callable(reveal) else value
        return value if isinstance(value, str) and value else None

    username, secret = field("username"), field("secret")
    if username is None and secret is None:
        return None
    if username is None or secret is None:
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
        config: object = None,
    ) -> None:
        from canfar_core.client_settings import resolve

        self.timeout, self.concurrency, self.errors = resolve(timeout, concurrency, errors)
        certificate = certificate or os.environ.get("CANFAR_CERTIFICATE", "").strip() or None
        self.context = make_context(context, backend, url, token, certificate)
        if self.timeout is not None:
            self.context.options["timeout"] = self.timeout
        if self.concurrency is not None:
            self.context.options["concurrency"] = self.concurrency
        registry = registry_login_of(config)
        if registry is not None:
            from canfar_core.auth import REGISTRY_LOGIN

            self.context.env_secrets[REGISTRY_LOGIN] = registry
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Session(context={self.context.name!r}, backend={self.context.backend!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the backend holds open (HTTP connections, database handles)."""
        backend, self._backend = self._backend, None
        close = getattr(backend, "close", None)
        if callable(close):
            close()

    @property
    def backend(self) -> Backend:
        """The backend object sessions run on, built on first use."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    factory = get_manager().registry("backends").get(self.context.backend)
                    self._backend = factory(self.context)
        return self._backend

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with _translated(self.context.backend):
            return method(*args, **kwargs)

    # -- launching -------------------------------------------------------------------------

    def kinds(self) -> dict[str, SessionKind]:
        """The session kinds registered by plugins, by name."""
        registry = get_manager().registry("session_kinds")
        return {name: registry.get(name) for name in registry}

    def _check_kind(self, kind: str | None, *, listing: bool = False) -> str | None:
        if kind is None:
            return None
        return canonical_kind(kind, list(self.kinds()), listing=listing)

    def build_spec(
        self,
        *,
        image: str | None = None,
        name: str | None = None,
        kind: str | None = None,
        cores: float | None = None,
        ram: float | None = None,
        gpus: int | None = None,
        cmd: str | None = None,
        args: str | Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        replicas: int = 1,
        only_replicas: Iterable[int] | None = None,
        **options: Any,
    ) -> SessionSpec:
        """The request :meth:`create` would send, with config defaults applied (no hooks yet)."""
        from canfar_core.config import config_file, saved_setting

        saved = config_file().read()
        defaults = {
            key: saved_setting(saved, f"defaults.{key}")
            for key in ("kind", "image", "cores", "ram", "gpus")
        }
        kind = kind or defaults.get("kind") or "headless"
        _check_text(name=name, image=image, cmd=cmd)
        if args is not None and not isinstance(args, str):
            args = _listed_values(args, "args", "a string")
        if env is not None and not isinstance(env, Mapping):
            raise ValidationError(
                f"env must be a mapping of names to values, not {type(env).__name__}"
            )
        if isinstance(args, str):
            try:
                args = shlex.split(args)
            except ValueError as exc:  # "No closing quotation", "No escaped character"
                raise ValidationError(
                    f"args {args!r} cannot be split into words: {str(exc).lower()} "
                    "(pass a list of words to keep quotes as they are)"
                ) from None
        return SessionSpec(
            kind=kind.lower() if isinstance(kind, str) else kind,
            image=image or defaults.get("image") or "",
            name=name or "",
            cmd=cmd,
            args=list(args or []),
            env=dict(env or {}),
            replicas=replicas,
            only_replicas=_listed(only_replicas),
            cores=cores if cores is not None else defaults.get("cores"),
            ram=ram if ram is not None else defaults.get("ram"),
            gpus=gpus if gpus is not None else defaults.get("gpus"),
            backend=self.context.backend,
            options=dict(options),
        )

    def validate(self, spec: SessionSpec) -> None:
        """Check a request as :meth:`launch` does, without sending it."""
        kinds = self.kinds()
        if spec.kind not in kinds:
            spec.kind = canonical_kind(spec.kind, list(kinds))
        kind = kinds[spec.kind]
        check_spec(spec, accepts_command=kind.accepts_command, max_replicas=kind.max_replicas)
        validate = getattr(self.backend, "validate", None)
        if validate is not None:
            self._call(validate, spec)

    def _prepare(self, spec: SessionSpec) -> None:
        """Make ``spec`` what :meth:`launch` would send: plugins see it, the default name is
        filled in, and it is checked. Nothing is sent."""
        spec.backend = self.context.backend
        # a plugin may fill in a site's default image
        get_manager().hook.canfar_prepare_session(spec=spec)
        if not spec.image:
            raise ValidationError(
                "an image is required (for example skaha/astroml:latest), or a default one: "
                "canfar config set defaults.image IMAGE"
            )
        if not spec.name:
            spec.name = default_name(spec.image)
        self.validate(spec)

    def _preview(self, spec: SessionSpec) -> list[dict[str, Any]]:
        """``create --dry-run``: what :meth:`launch` would send for ``spec``, one entry per
        replica; nothing is sent.

        A backend with a ``create_requests(spec)`` method describes its own requests (the
        canfar backend: each POST with its form fields); otherwise each replica's request is
        described by its fields."""
        self._prepare(spec)
        describe = getattr(self.backend, "create_requests", None)
        if describe is not None:
            requests: list[dict[str, Any]] = self._call(describe, spec)
            return requests
        return [
            {
                "backend": spec.backend,
                "replica": k,
                "name": spec.replica_name(k),
                "kind": spec.kind,
                "image": spec.image,
                "cores": spec.cores,
                "ram": spec.ram,
                "gpus": spec.gpus,
                "cmd": spec.cmd,
                "args": list(spec.args),
                "env": spec.replica_env(k),
            }
            for k in spec.replica_numbers()
        ]

    def launch(self, spec: SessionSpec) -> list[str]:
        """Launch a prepared request: plugins see it, it is checked, sent, and plugins are told.

        Returns the new ids in replica order. Raises :class:`LaunchError` (with ``ids`` of the
        replicas that did launch) when any replica failed.
        """
        self._prepare(spec)
        try:
            result = self._call(self.backend.create, spec)
        except LaunchInterrupted as exc:
            self._launched(spec, exc.ids)
            if not exc.names:
                exc.names = _names_of(spec, [*exc.failures, *exc.uncertain, *exc.not_sent])
            raise
        self._launched(spec, result.ids)
        if result.failures or result.uncertain or result.not_sent:
            total = len(spec.replica_numbers())
            unlaunched = len(result.failures) + len(result.uncertain) + len(result.not_sent)
            message = f"{unlaunched} of {total} replicas failed to launch"
            if result.uncertain:
                message = (
                    f"{unlaunched} of {total} replicas are not known to have launched "
                    f"({len(result.uncertain)} may exist)"
                )
            raise LaunchError(
                message,
                ids=list(result.ids),
                failures=dict(result.failures),
                uncertain=dict(result.uncertain),
                not_sent=list(result.not_sent),
                names=_names_of(spec, [*result.failures, *result.uncertain, *result.not_sent]),
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

    def create(
        self,
        name: str | None = None,
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
        gpus: int | None = None,
        only_replicas: Iterable[int] | None = None,
        errors: ErrorMode | None = None,
        **options: Any,
    ) -> list[str]:
        """Launch ``replicas`` sessions and return their ids, in replica order.

        The positional order is the platform client's: ``name, image, cores, ram, kind, gpu,
        cmd, args, env, replicas``. Each replica gets ``REPLICA_ID`` (1..replicas) and
        ``REPLICA_COUNT`` in its environment. With several replicas, replica ``k`` is named
        ``NAME-k``; with no name, one is made from the image. ``args`` is a list of words (a
        string is split as a shell would). ``ram`` is in GB; ``gpu`` (or ``gpus``) is the
        number of GPUs. Other keyword arguments are the backend's own options (``runtime`` and
        ``workdir`` for the local backend); any other keyword is a :class:`TypeError`.

        ``only_replicas`` launches just those replica numbers of ``replicas``, each with the
        ``REPLICA_ID``, ``REPLICA_COUNT`` and name it would have had in the full launch, so a
        failed replica runs again on the same share of the work: ``create("fit", image,
        replicas=100, only_replicas=[3, 7])`` starts ``fit-3`` and ``fit-7`` only. Pass the
        same ``name`` as the first launch (a name made from the image differs on every call).

        Raises :class:`~canfar_core.errors.ValidationError` before anything is sent when a value
        is not acceptable and :class:`~canfar_core.errors.PolicyError` when a plugin refuses the
        request. When some replicas fail, ``errors`` decides (default: the session's): with
        ``"ignore"`` each failure is logged as a warning and the ids that launched are
        returned; with ``"raise"``, :class:`~canfar_core.errors.LaunchRequestError` (both a
        ``SessionRequestError`` and a ``LaunchError``: ``ids``/``results`` of the replicas that
        launched, ``failures``/``errors`` of the others). When no replica launched, the error
        is raised whatever ``errors`` says.
        """
        if gpu is not None and gpus is not None and gpu != gpus:
            raise ValidationError(f"gpu={gpu!r} and gpus={gpus!r} disagree; give one of them")
        mode = self._errors(errors)
        self._check_options(options)
        spec = self.build_spec(
            image=image,
            name=name,
            kind=kind,
            cores=cores,
            ram=ram,
            gpus=gpus if gpus is not None else gpu,
            cmd=cmd,
            args=args,
            env=env,
            replicas=replicas,
            only_replicas=only_replicas,
            **options,
        )
        try:
            return self.launch(spec)
        except KeyboardInterrupt:
            raise
        except LaunchError as exc:
            if not exc.ids or mode == "raise":
                if mode == "raise":
                    raise LaunchRequestError(exc) from exc
                raise
            for replica, reason in sorted({**exc.failures, **exc.uncertain}.items()):
                log.warning("create: replica %s of %s failed: %s", replica, spec.name, reason)
            return list(exc.ids)

    def _check_options(self, options: Mapping[str, Any]) -> None:
        """Backend options the backend knows; an unknown keyword is a TypeError, as Python's."""
        known = getattr(self.backend, "option_names", None)
        if known is None:
            return  # a backend that does not say which it takes gets them all
        unknown = sorted(set(options) - set(known))
        if unknown:
            accepted = ", ".join(known) or "none"
            raise TypeError(
                f"create() got an unexpected keyword argument '{unknown[0]}' "
                f"(the {self.context.backend} backend's own options: {accepted})"
            )

    def _errors(self, errors: object) -> str:
        if errors is None:
            return self.errors
        from canfar_core.client_settings import check_errors

        return check_errors(errors)

    # -- looking -------------------------------------------------------------------------

    def fetch(self, kind: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """Your sessions, optionally only of one kind and one status: by creation time, then
        replica number, whatever order the backend gave.

        Each record has typed attributes (``s.id``, ``s.status``) and reads as the platform's
        dictionary (``s["id"]``, ``s.get("startTime")``). The platform client's words are
        accepted: ``status="Succeeded"`` means ``Completed``, ``kind="desktop-app"`` lists the
        applications running inside desktops.
        """
        return natural_order(
            self._call(
                self.backend.list,
                kind=self._check_kind(kind, listing=True),
                status=check_status(status),
            )
        )

    def find(self, session_id: str) -> SessionInfo:
        """One session by id; :class:`~canfar_core.errors.NotFound` if there is none."""
        return self._call(self.backend.info, check_session_id(session_id))

    def log_text(self, session_id: str) -> str:
        """What one session has printed so far, exactly as printed."""
        return self._call(self.backend.logs, check_session_id(session_id))

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """The session's output as it grows, until the session ends."""
        session_id = check_session_id(session_id)
        chunks = self._call(self.backend.follow_logs, session_id, poll=poll)
        while True:
            with _translated(self.context.backend):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def event_text(self, session_id: str) -> str:
        """One session's scheduling events, as text."""
        return self._call(self.backend.events, check_session_id(session_id))

    def _each(
        self, what: str, ids: IdOrIds, work: Callable[[str], T], errors: object
    ) -> tuple[dict[str, T], dict[str, CanfarError], str]:
        """``work`` on every id (concurrently, bounded): results and failures by id.

        Authentication and validation failures are raised at once, whatever ``errors`` says;
        with ``errors="ignore"`` every other failure is logged as a warning naming the id (with
        ``"raise"``, the error raised names them all).
        """
        from canfar_core.concurrency import concurrently

        mode = self._errors(errors)
        targets = check_ids(ids)
        limit = self.concurrency or getattr(self.backend, "concurrency", None)
        limit = limit if isinstance(limit, int) else DEFAULT_CONCURRENCY
        outcomes = concurrently(targets, work, limit=limit, stop_on=(AuthError, ConnectionFailed))
        results: dict[str, T] = {}
        failures: dict[str, CanfarError] = {}
        for session_id, result, error in outcomes:
            if error is None:
                results[session_id] = result  # type: ignore[assignment]
            elif isinstance(error, (AuthError, ValidationError)):
                raise error
            else:
                failures[session_id] = error
                if mode == "ignore":
                    log.warning("%s: %s: %s", what, session_id, error)
        return results, failures, mode

    @staticmethod
    def _report(what: str, mode: str, results: object, failures: Mapping[str, CanfarError]) -> None:
        if failures and mode == "raise":
            count = len(failures)
            raise SessionRequestError(
                f"{what} failed for {count} session{'s' if count != 1 else ''}: "
                + ", ".join(failures),
                results=results,
                errors=dict(failures),
            )

    def info(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> list[SessionInfo]:
        """The sessions ``ids`` (one id or several), in the order given.

        Each record reads as the platform's dictionary and has typed attributes. A session
        that cannot be read (no such id, a server error) is logged and left out, or raises
        :class:`~canfar_core.errors.SessionRequestError` with ``errors="raise"``.
        """
        found, failures, mode = self._each("info", ids, self.find, errors)
        records = list(found.values())
        self._report("info", mode, records, failures)
        return records

    def logs(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> dict[str, str] | None:
        """What each session printed, by id: ``{id: text}``.

        With ``verbose=True`` the text goes to the ``canfar.sessions`` logger (at INFO: see
        ``canfar.configure_logging``) and ``None`` is returned. Failures as for :meth:`info`.
        """
        _check_flag(verbose=verbose)
        texts, failures, mode = self._each("logs", ids, self.log_text, errors)
        result = None if verbose else texts
        if verbose:
            for session_id, text in texts.items():
                log.info("Session ID: %s\n%s", session_id, text)
        self._report("logs", mode, result, failures)
        return result

    def events(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> list[dict[str, str]] | None:
        """Each session's scheduling events: ``[{id: text}, ...]`` in the order given.

        ``verbose=True`` logs them instead, as :meth:`logs` does. Failures as for :meth:`info`.
        """
        _check_flag(verbose=verbose)
        texts, failures, mode = self._each("events", ids, self.event_text, errors)
        result = None if verbose else [{sid: text} for sid, text in texts.items()]
        if verbose:
            for session_id, text in texts.items():
                log.info("Session ID: %s\n%s", session_id, text)
        self._report("events", mode, result, failures)
        return result

    def stats(self) -> PlatformStats:
        """Cores and memory in use and available; reads as the platform's record too
        (``stats()["cores"]``)."""
        return self._call(self.backend.stats)

    def images(self, kind: str | None = None) -> list[Image]:
        """The images on offer, optionally only those for one session kind."""
        return self._call(self.backend.images, kind=self._check_kind(kind))

    def resources(self) -> ResourceContext:
        """What one session may request: cores, memory and GPUs on offer."""
        return self._call(self.backend.resources)

    def available(self) -> bool:
        """Whether the backend says it is available; one that cannot say is ``False``, with the
        reason logged as a warning (a backend with no such check is available)."""
        check = getattr(self.backend, "availability", None)
        if check is None:
            return True
        try:
            return bool(self._call(check))
        except CanfarError as exc:
            log.warning("availability: %s", exc)
            return False

    def open_url(self, session_id: str) -> str:
        """The URL of an interactive session."""
        return self._call(self.backend.open_url, check_session_id(session_id))

    def connect(self, ids: IdOrIds) -> None:
        """Open each running session in the web browser; one that is not running (or has no
        page) is logged as a warning and skipped."""
        import webbrowser

        urls, _, _ = self._each("connect", ids, self.open_url, "ignore")
        for url in urls.values():
            webbrowser.open(url)

    # -- ending ------------------------------------------------------------------------------

    def delete(self, ids: IdOrIds) -> dict[str, str | None]:
        """Delete sessions (many are deleted concurrently where the backend can).

        The result maps each id to ``None`` (deleted) or the reason it was not; nothing is
        raised for a session that could not be deleted, so check the values.
        """
        return self._call(self.backend.delete, check_ids(ids))

    def extend(self, ids: IdOrIds) -> dict[str, str | None]:
        """Renew interactive sessions' lifetime; shaped like :meth:`delete`'s result."""
        return self._call(self.backend.renew, check_ids(ids))

    def _booleans(
        self, what: str, reasons: dict[str, str | None], errors: object
    ) -> dict[str, bool]:
        mode = self._errors(errors)
        failures = {sid: CanfarError(reason) for sid, reason in reasons.items() if reason}
        for session_id, error in failures.items():
            log.warning("%s: %s: %s", what, session_id, error)
        result = {sid: reason is None for sid, reason in reasons.items()}
        self._report(what, mode, result, failures)
        return result

    def destroy(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Delete sessions: ``{id: True}`` for each deleted, ``{id: False}`` for each not.

        A session not deleted is logged as a warning (with the reason), or raises
        :class:`~canfar_core.errors.SessionRequestError` with ``errors="raise"``.
        :meth:`delete` gives the reasons instead of booleans.
        """
        mode = self._errors(errors)
        return self._booleans("destroy", self.delete(ids), mode)

    def renew(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Renew interactive sessions' lifetime; shaped like :meth:`destroy`'s result."""
        mode = self._errors(errors)
        return self._booleans("renew", self.extend(ids), mode)

    def matching(
        self,
        prefix: str | None = None,
        kind: str | None = None,
        status: StatusOrStatuses | None = None,
    ) -> list[SessionInfo]:
        """Sessions whose name starts with ``prefix`` (ignoring case: the platform lower-cases
        names), of ``kind``, in ``status`` (one or several); each filter is optional. In
        :meth:`fetch`'s order."""
        wanted = _statuses(status)
        kind = self._check_kind(kind, listing=True)  # a listing: desktop-app is allowed
        # A backend written without subclassing Backend may lack list_matching.
        method = getattr(self.backend, "list_matching", None)
        if method is not None:
            sessions = self._call(method, kind=kind, statuses=wanted)
        else:
            sessions = self._call(filter_sessions, self.backend.list, kind, wanted)
        lowered = prefix.lower() if prefix else None
        return [
            s
            for s in natural_order(sessions)
            if (lowered is None or s.name.lower().startswith(lowered))
            and (wanted is None or s.status in wanted)
        ]

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
        matched).

        A ``prefix`` holding regular-expression characters (``.^$*+?{}[]\\|()``) is a regular
        expression searched for in the name (``"^fit-[0-9]+$"``); any other prefix is matched
        at the start of the name, ignoring case.
        """
        mode = self._errors(errors)
        if prefix is not None and not isinstance(prefix, str):
            raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
        if prefix and not REGEX_CHARACTERS.isdisjoint(prefix):
            try:
                pattern = re.compile(prefix)
            except re.error as exc:
                raise ValidationError(f"'{prefix}' is not a regular expression: {exc}") from None
            found = [s for s in self.matching(kind=kind, status=status) if pattern.search(s.name)]
        else:
            found = self.matching(prefix=prefix, kind=kind, status=status)
        if not found:
            return {}
        return self.destroy([s.id for s in found], errors=mode)  # type: ignore[arg-type]

    # -- waiting -----------------------------------------------------------------------------

    def _poll(self, targets: list[str]) -> dict[str, SessionInfo]:
        """The current state of every target: one listing for many, ``info`` for the rest."""
        seen: dict[str, SessionInfo] = {}
        if len(targets) > 2:
            wanted = set(targets)
            seen = {s.id: s for s in self._call(self.backend.list) if s.id in wanted}
        current: dict[str, SessionInfo] = {}
        for session_id in targets:
            if session_id in seen:
                current[session_id] = seen[session_id]
                continue
            try:
                current[session_id] = self._call(self.backend.info, session_id)
            except NotFound:
                raise NotFound(f"session {session_id} no longer exists") from None
        return current

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
        will never change again, so check the returned statuses (``wait(ids, "Completed")``
        returns when every session has finished, successfully or not). ``progress`` is called
        with every session's state after each poll.

        Returns the last state of every session, by id. Raises :class:`WaitTimeout` on timeout
        (also a :class:`TimeoutError`), naming the sessions still not there, and
        :class:`~canfar_core.errors.NotFound` when a session disappears. A poll that fails with
        a server error or no answer is tried again at the next poll; only
        :data:`WAIT_TRANSIENT_FAILURES` failures in a row end the wait (with that error).
        """
        _check_seconds(timeout=timeout, poll=poll)
        wanted = _wanted(status)
        targets = check_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        current: dict[str, SessionInfo] = {}
        misses = 0
        while True:
            try:
                current = self._poll(targets)
            except ServerError:  # a 5xx or no answer: the sessions are still there
                misses += 1
                if misses >= WAIT_TRANSIENT_FAILURES:
                    raise
            else:
                misses = 0
                if progress is not None:
                    progress(current)
                pending = _pending(current, wanted)
                if not pending:
                    return current
            if deadline is not None and time.monotonic() >= deadline:
                raise _timed_out(_pending(current, wanted) or targets, wanted, timeout, current)
            time.sleep(_pause(poll, deadline))


def _names_of(spec: SessionSpec, replicas: Iterable[int]) -> dict[int, str]:
    """The session name of each replica number."""
    return {k: spec.replica_name(k) for k in sorted(set(replicas))}


def _wanted(status: StatusOrStatuses) -> set[str]:
    wanted = set(_statuses(status) or [])
    if not wanted:
        raise ValidationError("wait needs at least one status to wait for")
    return wanted


def _pending(current: dict[str, SessionInfo], wanted: set[str]) -> list[str]:
    """Ids not yet in a wanted status. A session that has ended counts as arrived whatever was
    wanted: it will never change again, so waiting longer for it would only hang the caller."""
    return [
        sid
        for sid, info in current.items()
        if info.status not in wanted and info.status not in ENDED_STATUSES
    ]


def _timed_out(
    pending: list[str], wanted: set[str], timeout: float | None, current: dict[str, SessionInfo]
) -> WaitTimeout:
    return WaitTimeout(
        f"{len(pending)} session(s) still not {'/'.join(sorted(wanted))} after {timeout or 0:g}s: "
        + ", ".join(pending),
        pending=pending,
        sessions=current,
    )


def _pause(poll: float, deadline: float | None) -> float:
    return poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """``AsyncSession``, from :mod:`canfar_core.async_sessions` on first use (that module
        imports this one)."""
        if name == "AsyncSession":
            from canfar_core.async_sessions import AsyncSession

            return AsyncSession
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVE_STATUSES",
    "ENDED_STATUSES",
    "AsyncSession",
    "CanfarError",
    "Session",
    "WaitTimeout",
    "check_status",
    "default_name",
    "make_context",
]
