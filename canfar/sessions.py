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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from canfar._asynchronous import asynchronous
from canfar._client_settings import client_context, resolve
from canfar_core import sessions
from canfar_core.auth import REGISTRY_LOGIN
from canfar_core.errors import CanfarError, ValidationError
from canfar_core.sessions import ErrorMode, IdOrIds, StatusOrStatuses, log
from canfar_core.validation import check_types
from canfar_plugins._support.runs import run
from canfar_plugins._support.waits import WaitTimeout, wait

T = TypeVar("T")


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
    wait = wait  # until each session reaches a status: canfar_plugins._support.waits

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
        check_types(str, "a string", prefix=prefix)
        found = [s for s in self.fetch(kind, status, name=prefix) if not s.kept]  # live ones
        return self.destroy([s.id for s in found], errors=mode) if found else {}  # type: ignore[arg-type]


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
