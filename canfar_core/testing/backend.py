"""The backend contract as tests: :class:`BackendContract`, a pytest class that a backend
package subclasses with a ``backend`` fixture to learn whether its backend honours what canfar
expects of one. It is shipped with canfar (``from canfar_core.testing import
BackendContract``); the built-in backends and the Slurm backend run it.

Sessions are launched for real, so the backend must be reachable (a fake server, a fake
cluster, this machine); each test deletes what it launched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from canfar_core.errors import CanfarError, NotFound
from canfar_core.models import STATUSES, LaunchResult, SessionInfo, SessionSpec


class BackendContract:
    """Subclass it (as ``TestMyBackend``) and give it a ``backend`` fixture::

        class TestMyBackend(BackendContract):
            @pytest.fixture
            def backend(self, canfar_home):
                return MyBackend(Context(name="test", backend="mine"))

    Class attributes choose what the sessions run: ``image``, ``command`` (it must keep running
    for a few seconds), ``kind`` and ``replicas``; ``unknown_id`` is an id of your backend's
    form that names no session.
    """

    unknown_id = "nosuchsession0"
    image = "python:3.12"
    command: tuple[str, ...] = ("sleep", "30")
    kind = "headless"
    replicas = 3

    @pytest.fixture
    def backend(self) -> Any:
        raise NotImplementedError("give the BackendContract subclass a `backend` fixture")

    def spec(self, backend: Any, name: str = "contract") -> SessionSpec:
        """The request every test launches."""
        cmd, *args = self.command
        spec = SessionSpec(kind=self.kind, image=self.image, name=name, cmd=cmd, args=args)
        spec.replicas, spec.backend = self.replicas, getattr(backend, "name", "")
        return spec

    @pytest.fixture
    def launched(self, backend: Any) -> Iterator[list[str]]:
        """The ids of one launch of :attr:`replicas` sessions, deleted after the test."""
        result = backend.create(self.spec(backend))
        assert isinstance(result, LaunchResult)
        yield list(result.ids)
        backend.delete(list(result.ids))

    def test_create_launches_one_session_per_replica(self, launched: list[str]) -> None:
        assert len(launched) == self.replicas
        assert len(set(launched)) == self.replicas
        assert all(isinstance(i, str) and i for i in launched)

    def test_each_replica_is_told_its_position(self, backend: Any) -> None:
        spec = self.spec(backend)
        requests = backend.create_requests(spec)
        assert len(requests) == self.replicas
        for k, request in zip(spec.replica_numbers(), requests, strict=True):
            env = request.get("env") if isinstance(request, dict) else None
            if isinstance(env, dict):  # a backend that shows the environment it sets
                assert env["REPLICA_ID"] == str(k)
                assert env["REPLICA_COUNT"] == str(self.replicas)

    def test_list_shows_the_sessions_launched(self, backend: Any, launched: list[str]) -> None:
        listed = backend.list()
        assert all(isinstance(s, SessionInfo) for s in listed)
        assert set(launched) <= {s.id for s in listed}
        assert set(launched) <= {s.id for s in backend.list(kind=self.kind)}

    def test_info_describes_one_session(self, backend: Any, launched: list[str]) -> None:
        info = backend.info(launched[0])
        assert isinstance(info, SessionInfo)
        assert info.id == launched[0]
        assert info.status in STATUSES

    def test_logs_and_events_are_text(self, backend: Any, launched: list[str]) -> None:
        assert isinstance(backend.logs(launched[0]), str)
        assert isinstance(backend.events(launched[0]), str)

    def test_delete_answers_for_every_id(self, backend: Any) -> None:
        ids = list(backend.create(self.spec(backend, "contract-delete")).ids)
        answers = backend.delete(ids)
        assert set(answers) == set(ids)
        assert all(reason is None for reason in answers.values()), answers

    def test_an_unknown_id_is_not_found(self, backend: Any) -> None:
        with pytest.raises(NotFound):
            backend.info(self.unknown_id)
        with contextlib.suppress(NotFound):  # a service may answer with no logs instead
            assert backend.logs(self.unknown_id) == ""

    @pytest.mark.parametrize("member", ["stats", "images", "resources"])
    def test_an_optional_member_works_or_says_it_is_not_available(
        self, backend: Any, member: str
    ) -> None:
        try:
            getattr(backend, member)()
        except CanfarError as exc:  # Unsupported, most often: a clear one-line error
            message = str(exc)
        else:
            message = "it worked"
        assert message.strip()
