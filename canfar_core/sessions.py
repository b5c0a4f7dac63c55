"""The session API: one code path for the Python API and every CLI command.

:class:`Session` resolves the context (where sessions run), builds the backend through the
registry and runs the plugin hooks around every launch. Its methods are the platform client's
(``create``, ``fetch``, ``info``, ``logs``, ``events``, ``destroy``, ``destroy_with``, ``renew``,
``connect``, ``stats``) and this project's own (``wait``, ``follow_logs``, ...), one
implementation each; the ``canfar`` package derives ``AsyncSession`` from it. A network
exception a backend lets escape (``requests``, ``ConnectionError``) becomes
:class:`~canfar_core.errors.ConnectionFailed` here.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from canfar_core import validation as checks
from canfar_core.backend import Backend, adapted, translated
from canfar_core.errors import (
    AuthError,
    CanfarError,
    ConnectionFailed,
    LaunchError,
    LaunchRequestError,
    SessionRequestError,
    ValidationError,
)
from canfar_core.manager import get_manager
from canfar_core.models import SessionInfo, SessionSpec
from canfar_core.ordering import natural_order
from canfar_core.public_names import canonical_kind
from canfar_core.validation import request

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_core.models import Image, PlatformStats, ResourceContext, SessionKind

#: One session id, or several.
IdOrIds = str | Sequence[str]
#: One status, or several.
StatusOrStatuses = str | Sequence[str]
#: ``ignore``: a failed id is logged and left out of the result; ``raise``: SessionRequestError.
ErrorMode = Literal["ignore", "raise"]
#: Where per-session failures are logged (``errors="ignore"``) and verbose logs go.
log = logging.getLogger("canfar.sessions")
DEFAULTED = ("kind", "image", "cores", "ram", "gpus")  # what defaults.FIELD fills in
T = TypeVar("T")


class Session:
    """Launch and manage sessions on one context's backend: the acts on a backend, one method
    each, under the CLI and the Python API alike.

    It takes the context and the settings resolved: :class:`canfar.sessions.Session`, which
    users and the commands build, resolves them from its arguments, the environment and the
    saved contexts.
    """

    def __init__(
        self,
        context: Context,
        *,
        timeout: float | None = None,
        concurrency: int | None = None,
        errors: str = "ignore",
    ) -> None:
        self.context, self.timeout, self.concurrency = context, timeout, concurrency
        self.errors = checks.check_errors(errors)
        for setting in ("timeout", "concurrency"):
            if getattr(self, setting) is not None:
                self.context.options[setting] = getattr(self, setting)
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
        if backend is not None:
            backend.close()

    @property
    def backend(self) -> Backend:
        """The backend object sessions run on, built on first use."""
        with self._lock:
            if self._backend is None:
                factory = get_manager().registry("backends").get(self.context.backend)
                self._backend = adapted(factory(self.context), self.context)
        return self._backend

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with translated(self.context.backend):
            return method(*args, **kwargs)

    def _streamed(self, items: Iterator[T]) -> Iterator[T]:
        while True:
            with translated(self.context.backend):
                item = next(items, None)
            if item is None:
                return
            yield item

    def _errors(self, errors: object) -> str:
        return self.errors if errors is None else checks.check_errors(errors)

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
        options: Mapping[str, Any] | None = None,
        **keywords: Any,
    ) -> list[str]:
        """Launch ``replicas`` sessions and return their ids, in replica order.

        The positional order is the platform client's. ``name`` may be a whole request (a
        :class:`~canfar_core.models.SessionSpec`, completed in place). Replica ``k`` of several
        is named ``NAME-k`` and gets ``REPLICA_ID=k`` and ``REPLICA_COUNT``; with no name, one
        is made from the image. ``args`` is a list of words (a string is split as a shell
        would), ``ram`` is in GB, ``gpu`` the number of GPUs; what is left out comes from
        ``canfar config set defaults.*``. ``options`` holds create options (``canfar create
        --NAME``); the backend's own may be keywords too (``runtime=``), others a TypeError.
        ``only_replicas`` launches just those replica numbers, each with the name and
        environment it has in the full launch.

        A bad value is a :class:`~canfar_core.errors.ValidationError` and a plugin's refusal a
        :class:`~canfar_core.errors.PolicyError`, before anything is sent. Replicas that fail:
        ``errors="ignore"`` logs each and returns the ids that launched (``[]`` when none did);
        ``"raise"`` raises :class:`~canfar_core.errors.LaunchRequestError` with every outcome.
        Companion: :meth:`preview`, what it would send.
        """
        mode = self._errors(errors)
        given = {**keywords, **(options or {})}  # a backend keyword is a create option too
        spec = request(
            name, image, cores, ram, kind, gpu, cmd, args, env, replicas, only_replicas, given
        )
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
        self._prepare(spec)
        return self._call(self.backend.create_requests, spec)

    def _prepare(self, spec: SessionSpec) -> None:
        """Make ``spec`` what a launch sends: config defaults, plugins, a name, every check."""
        from canfar_core.config import config_file, saved_setting

        used, registered = self.backend.option_names, get_manager().registry("create_options")
        checks.check_options(spec.options, self.context.backend, used, list(registered))
        defaults = {n: registered.get(n).default for n in registered if n not in spec.options}
        spec.options.update({name: value for name, value in defaults.items() if value is not None})
        saved = config_file().read()  # every default is read: a broken one is named
        for key, value in [(k, saved_setting(saved, f"defaults.{k}")) for k in DEFAULTED]:
            if getattr(spec, key) in (None, ""):
                setattr(spec, key, value)
        spec.kind = spec.kind.lower() if isinstance(spec.kind, str) else spec.kind or "headless"
        spec.image, spec.backend = spec.image or "", self.context.backend
        get_manager().hook.canfar_prepare_session(spec=spec)  # may fill in a site's image
        given = {k: v for k, v in spec.options.items() if k not in defaults or v != defaults[k]}
        checks.check_options(given, spec.backend, used, [], prepared=True)
        if not spec.image:
            raise ValidationError(
                "an image is required (for example skaha/astroml:latest), or a default one: "
                "canfar config set defaults.image IMAGE"
            )
        spec.name = spec.name or checks.default_name(spec.image)
        kinds = self.kinds()
        spec.kind = spec.kind if spec.kind in kinds else canonical_kind(spec.kind, list(kinds))
        kind = kinds[spec.kind]
        checks.check_spec(
            spec, accepts_command=kind.accepts_command, max_replicas=kind.max_replicas
        )
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
        if not unlaunched:
            return list(result.ids)
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

    @staticmethod
    def _launched(spec: SessionSpec, ids: list[str]) -> None:
        try:  # tell plugins what launched; a launch is never undone by an observer
            if ids:
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
        ``name`` that matches (as :meth:`destroy_with`'s ``prefix``); oldest first.

        Each is the platform's dictionary (``s["id"]``, ``json.dumps(s)``) with typed
        attributes too (``s.id``, ``s.status``). The platform client's words are accepted:
        ``status="Succeeded"`` is ``Completed``, ``kind="desktop-app"`` lists the applications
        running inside desktops.
        """
        matches = checks.name_matcher(name)
        kind, wanted = self._check_kind(kind, listing=True), checks.statuses(status)
        found = self._call(self.backend.list_matching, kind=kind, statuses=wanted)
        return [s for s in natural_order(found) if matches(s.name)]

    def _each(
        self, what: str, ids: IdOrIds, work: Callable[[str], T], errors: object, shape: Any
    ) -> Any:
        """``work`` on each id, ``concurrency`` at a time, failures as ``errors`` says: the
        fan-out of :meth:`info`, :meth:`logs`, :meth:`events` and the public ``for_each``."""
        from canfar_core.concurrency import concurrently

        mode, limit = self._errors(errors), self.concurrency or self.backend.concurrency
        results: dict[str, T] = {}
        failures: dict[str, CanfarError] = {}
        for sid, result, error in concurrently(
            checks.check_ids(ids),
            lambda sid: self._call(work, sid),
            limit=limit,
            stop_on=(AuthError, ConnectionFailed),
        ):
            if isinstance(error, (AuthError, ValidationError)):
                raise error
            if error is None:
                results[sid] = result  # type: ignore[assignment]
            else:
                failures[sid] = error
        shaped = shape(results)
        _report(what, mode, shaped, failures)
        return shaped

    def info(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> list[SessionInfo]:
        """The sessions ``ids`` (one id or several), in the order given, as :meth:`fetch` gives
        them. One that cannot be read is logged and left out, or with ``errors="raise"``
        :class:`~canfar_core.errors.SessionRequestError` names each (a missing one as
        :class:`~canfar_core.errors.NotFound`)."""
        return self._each("info", ids, self.backend.info, errors, lambda r: list(r.values()))

    def logs(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> dict[str, str] | None:
        """What each session printed, unaltered, by id: ``{id: text}``; ``verbose=True`` logs
        it on ``canfar.sessions`` (INFO) and returns ``None``. Failures as for :meth:`info`.
        Companions: :meth:`follow_logs` (as it grows), :meth:`stream_logs` (as bytes)."""
        checks.check_types(bool, "True or False", verbose=verbose)
        return _logged(self._each("logs", ids, self.backend.logs, errors, dict), verbose)

    def follow_logs(self, session_id: str, poll: float = 1.0) -> Iterator[str]:
        """:meth:`logs` of one session as it grows, until the session ends."""
        session_id = checks.check_session_id(session_id)
        yield from self._streamed(self._call(self.backend.follow_logs, session_id, poll=poll))

    def stream_logs(self, session_id: str) -> Iterator[bytes]:
        """:meth:`logs` of one session as bytes, in pieces (a large log is never held whole)."""
        session_id = checks.check_session_id(session_id)
        yield from self._streamed(self._call(self.backend.iter_logs, session_id))

    def events(
        self, ids: IdOrIds, verbose: bool = False, *, errors: ErrorMode | None = None
    ) -> list[dict[str, str]] | None:
        """Each session's scheduling events: ``[{id: text}, ...]`` in the order given;
        ``verbose`` and failures as for :meth:`logs`."""
        checks.check_types(bool, "True or False", verbose=verbose)
        texts = self._each("events", ids, self.backend.events, errors, _one_by_one)
        return _logged(texts, verbose)

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

    # -- ending ------------------------------------------------------------------------------

    def destroy(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Delete sessions: ``{id: True}`` for each deleted, ``{id: False}`` for each not (the
        reason logged, or with ``errors="raise"`` in
        :class:`~canfar_core.errors.SessionRequestError`'s ``errors``)."""
        return self._booleans("destroy", self.backend.delete, ids, errors)

    def renew(self, ids: IdOrIds, *, errors: ErrorMode | None = None) -> dict[str, bool]:
        """Renew interactive sessions' lifetime; shaped like :meth:`destroy`'s result."""
        return self._booleans("renew", self.backend.renew, ids, errors)

    def _booleans(self, what: str, method: Any, ids: IdOrIds, errors: object) -> dict[str, bool]:
        """A backend's ``{id: None or reason}`` as ``{id: done}``, failures as ``errors`` says;
        a call that fails whole fails each id (with ``errors="raise"``, it raises as it is)."""
        mode, targets = self._errors(errors), checks.check_ids(ids)
        try:
            reasons = self._call(method, targets)
        except (AuthError, ValidationError):
            raise
        except CanfarError as exc:
            if mode == "raise":
                raise
            reasons = dict.fromkeys(targets, str(exc))
        failures = {sid: CanfarError(reason) for sid, reason in reasons.items() if reason}
        result = {sid: reason is None for sid, reason in reasons.items()}
        _report(what, mode, result, failures)
        return result


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


_one_by_one = lambda results: [{sid: text} for sid, text in results.items()]  # noqa: E731


def _logged(results: Any, verbose: bool) -> Any:
    """``results``, or (``verbose``) each text logged at INFO and ``None``."""
    if not verbose:
        return results
    for entry in results if isinstance(results, list) else [results]:
        for session_id, text in entry.items():
            log.info("Session ID: %s\n%s", session_id, text)
    return None


def _names_of(spec: SessionSpec, replicas: Iterable[int] | None = None) -> dict[int, str]:
    """The session name of each replica number (every replica's by default)."""
    chosen = spec.replica_numbers() if replicas is None else replicas
    return {k: spec.replica_name(k) for k in sorted(set(chosen))}


__all__ = ["Session"]
