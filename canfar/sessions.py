"""Launch and manage sessions: ``from canfar.sessions import Session``.

The same code runs on this machine (the local backend, no login needed) and on the CANFAR
Science Platform after ``canfar auth login``::

    from canfar.sessions import Session

    session = Session()
    ids = session.create(
        name="galaxy-processing-batch",
        kind="headless",
        image="skaha/astroml:latest",
        cmd="python",
        args=["my_script.py"],
        replicas=100,
    )
    session.wait(ids, status="Completed")
    print(session.logs(ids[0]))
    session.destroy(ids)

:class:`AsyncSession` has the same methods as coroutines. Results are the typed records of
:mod:`canfar.models`; failures are the exceptions of :mod:`canfar.errors`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from canfar._asynchronous import asynchronous
from canfar._client_settings import client_context, resolve
from canfar_core import sessions
from canfar_core import validation as checks
from canfar_core.auth import REGISTRY_LOGIN
from canfar_core.errors import CanfarError, NotFound, ServerError, ValidationError
from canfar_core.models import ENDED_STATUSES, FINAL_STATUSES, SessionInfo
from canfar_core.sessions import ErrorMode, IdOrIds, StatusOrStatuses, log
from canfar_plugins._support.runs import run

T = TypeVar("T")


#: What :meth:`Session.wait` hands its ``progress`` callback on every poll.
Progress = Callable[[dict[str, SessionInfo]], None]
#: Polls in a row that may fail (a server error, no answer) before :meth:`Session.wait` gives up.
WAIT_TRANSIENT_FAILURES = 5


class WaitTimeout(CanfarError, TimeoutError):
    """:meth:`Session.wait` gave up before every session reached the wanted status:
    ``pending`` lists the ids still not there, ``sessions`` the last state of each."""

    def __init__(
        self, message: str, *, pending: list[str], sessions: dict[str, SessionInfo]
    ) -> None:
        super().__init__(message)
        self.pending, self.sessions = pending, sessions


def registry_login(config: object) -> dict[str, str] | None:
    """The container-registry login of the platform client's ``config=`` (a ``Configuration``
    whose ``registry`` has a ``username`` and a ``secret``, plain or a pydantic ``SecretStr``;
    or a mapping of that shape), ``None`` when it holds none; half a login is refused."""

    def field(holder: object, name: str) -> Any:
        value = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        reveal = getattr(value, "get_secret_value", None)
        return reveal() if callable(reveal) else value

    registry = None if config is None else field(config, "registry")
    if registry is None:
        return None
    login = {"username": field(registry, "username"), "secret": field(registry, "secret")}
    if not any(login.values()):
        return None
    if not all(isinstance(value, str) and value for value in login.values()):
        raise ValidationError("a registry login needs both a username and a secret")
    return login


class Session(sessions.Session):
    """Launch and manage sessions on the active backend (or the one given): the local backend
    when nobody is logged in, the CANFAR platform after ``canfar auth login``.

    Args:
        context: a saved context's name, instead of the active one.
        backend: a backend's name (``local``, ``canfar``, or one a plugin adds).
        url: a Skaha service URL, used with ``token`` instead of any saved context.
        token: a bearer token for ``url`` (or replacing the context's own).
        certificate: an X.509 proxy certificate file, instead of a token.
        timeout: seconds a request may wait for an answer (1 to 300; ``CANFAR_TIMEOUT``).
        concurrency: requests in flight at once for one call (1 to 128;
            ``CANFAR_CONCURRENCY``).
        errors: ``"ignore"`` (the default: a failure is logged and left out of the result) or
            ``"raise"`` (:class:`~canfar.errors.SessionRequestError`); ``CANFAR_ERRORS``.
            The three read back as given (``None`` where nobody chose one).
        config: the platform client's ``Configuration`` (``config.registry.username`` and
            ``.secret``) or ``{"registry": {"username": ..., "secret": ...}}``: a private
            image's registry login, sent with launches only.
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
        errors: sessions.ErrorMode | None = None,
        config: Any = None,
    ) -> None:
        seconds, limit, mode = resolve(timeout, concurrency, errors)
        certificate = certificate or os.environ.get("CANFAR_CERTIFICATE", "").strip() or None
        chosen = client_context(context, backend, url, token, certificate)
        super().__init__(chosen, timeout=seconds, concurrency=limit, errors=mode)
        login = registry_login(config)
        if login is not None:
            self.context.env_secrets[REGISTRY_LOGIN] = login

    run = run  # a job to its end, retries and all: canfar_plugins._support.runs

    def for_each(
        self, ids: IdOrIds, work: Callable[[str], T], *, errors: ErrorMode | None = None
    ) -> dict[str, T]:
        """``work(id)`` for every id, ``concurrency`` at a time: the results by id, in the order
        given; the fan-out of :meth:`info`, :meth:`logs`, :meth:`events` and :meth:`urls`.

        With ``errors="ignore"`` each failure is logged and left out; with ``"raise"``,
        :class:`~canfar_core.errors.SessionRequestError` once every id was tried (``results``,
        and ``errors`` by id). Refused credentials and invalid input raise at once; once the
        server cannot be reached, the ids not yet tried fail with that error.
        """
        return self._each(getattr(work, "__name__", "work"), ids, work, errors, dict)

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
        return self._each("connect", ids, self.backend.open_url, errors, dict)

    def connect(self, ids: IdOrIds) -> None:
        """Open each running session in the web browser; one that is not running (or has no
        page) is logged as a warning and skipped. Companion: :meth:`urls`."""
        import webbrowser

        for url in self.urls(ids, errors="ignore").values():
            webbrowser.open(url)

    def destroy_with(
        self,
        prefix: str | None = None,
        *,
        kind: str | None = "headless",
        status: StatusOrStatuses | None = "Completed",
        errors: ErrorMode | None = None,
    ) -> dict[str, bool]:
        """Delete every session whose name matches ``prefix``, of ``kind``, in ``status`` (by
        default finished headless ones): :meth:`destroy`'s result, ``{}`` when none matched.

        A ``prefix`` holding regular-expression characters (``.^$*+?{}[]\\|()``) is a regular
        expression searched in the name (``"^fit-[0-9]+$"``); any other is matched at the start
        of the name. Case is ignored: the platform stores names in lower case.
        ``fetch(kind, status, name=prefix)`` shows what it would delete.
        """
        mode = self._errors(errors)
        checks.check_types(str, "a string", prefix=prefix)
        found = [s for s in self.fetch(kind, status, name=prefix) if not s.kept]  # live ones
        return self.destroy([s.id for s in found], errors=mode) if found else {}  # type: ignore[arg-type]

    def wait(
        self,
        ids: IdOrIds,
        status: StatusOrStatuses = ("Running", *FINAL_STATUSES),
        timeout: float | None = None,
        poll: float = 2.0,
        progress: Progress | None = None,
    ) -> dict[str, SessionInfo]:
        """Block until every session has reached one of ``status`` (by default: Running or
        ended), or ``timeout`` seconds pass; the last state of each, by id.

        A session that ends (Completed, Failed, Terminating) counts as arrived whatever
        ``status`` asks for: it will never change again, so check the statuses returned.
        ``progress`` is called with every state after each poll. Raises :class:`WaitTimeout`
        (a :class:`TimeoutError`) naming the sessions not there, and
        :class:`~canfar_core.errors.NotFound` when one disappears. A poll that fails with a
        server error or no answer is tried again; :data:`WAIT_TRANSIENT_FAILURES` in a row end
        the wait with that error.
        """
        checks.check_seconds(timeout=timeout, poll=poll)
        wanted = set(checks.statuses(status) or [])
        if not wanted:
            raise ValidationError("wait needs at least one status to wait for")
        targets = checks.check_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        current: dict[str, SessionInfo] = {}
        misses = 0
        while True:
            try:
                current, misses = self._states(targets), 0
            except ServerError:  # a 5xx or no answer: the sessions are still there
                misses += 1
                if misses >= WAIT_TRANSIENT_FAILURES:
                    raise
            else:
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
        seen: dict[str, SessionInfo] = {}
        if len(targets) > 2:
            seen = {s.id: s for s in self._call(self.backend.list) if s.id in set(targets)}
        for session_id in targets:
            try:
                seen[session_id] = seen.get(session_id) or self._call(self.backend.info, session_id)
            except NotFound:
                raise NotFound(f"session {session_id} no longer exists") from None
        return {session_id: seen[session_id] for session_id in targets}


def _pending(current: dict[str, SessionInfo], wanted: set[str]) -> list[str]:
    """Ids not yet in a wanted status, nor ended (an ended session will never change)."""
    return [
        sid
        for sid, info in current.items()
        if info.status not in wanted and info.status not in ENDED_STATUSES
    ]


#: Every public method of :class:`Session` as a coroutine.
_Asynchronous: Any = asynchronous(Session)


class AsyncSession(_Asynchronous):
    """:class:`Session`'s methods as coroutines (``follow_logs`` and ``stream_logs`` as async
    generators), derived from it method by method: the same names, signatures and behaviour,
    each call run in a worker thread so that many awaited together overlap. It takes
    :class:`Session`'s arguments, reads its settings back (``.concurrency``), and ``sync`` is
    the :class:`Session` it uses::

        async with AsyncSession() as session:
            ids = await session.create(image="skaha/astroml:latest", cmd="python", args=["a.py"])
            infos = await session.info(ids)
    """


__all__ = ["AsyncSession", "Session", "WaitTimeout"]
