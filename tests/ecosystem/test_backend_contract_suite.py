"""The backend contract shipped in ``canfar_core.testing``: a backend that honours it passes
every test, and one that breaks it fails the tests that say where."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BACKEND = """
import pytest

from canfar_core.backend import Backend
from canfar_core.contexts import Context
from canfar_core.errors import NotFound
from canfar_core.models import LaunchResult, SessionInfo
from canfar_core.testing import BackendContract


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, context):
        super().__init__(context)
        self.sessions = {}

    def create(self, spec):
        ids = [f"m{len(self.sessions) + k}" for k in spec.replica_numbers()]
        for k, i in zip(spec.replica_numbers(), ids):
            self.sessions[i] = SessionInfo(i, spec.replica_name(k), spec.kind, spec.image,
                                           "Running", "memory")
        return LaunchResult(ids=IDS(ids))

    def list(self, kind=None, status=None):
        return [s for s in self.sessions.values() if kind in (None, s.kind)]

    def info(self, session_id):
        if session_id not in self.sessions:
            raise NotFound(f"no session {session_id}")
        return self.sessions[session_id]

    def logs(self, session_id):
        return self.info(session_id) and ""

    def events(self, session_id):
        return self.info(session_id) and ""

    def delete(self, session_ids):
        return {i: None if self.sessions.pop(i, None) else "not found" for i in session_ids}


class TestMemoryBackend(BackendContract):
    @pytest.fixture
    def backend(self, canfar_home):
        return MemoryBackend(Context(name="test", backend="memory"))
"""


def test_a_backend_that_honours_the_contract_passes_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_memory=BACKEND.replace("IDS(ids)", "ids"))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)


def test_a_backend_that_loses_a_replica_fails_where_it_does(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_memory=BACKEND.replace("IDS(ids)", "ids[:-1]"))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 1
    result.stdout.fnmatch_lines(["*test_create_launches_one_session_per_replica*"])


def test_the_guides_five_lines_run_the_contract(pytester: pytest.Pytester) -> None:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text("utf-8")
    section = page.split("### Testing a backend against the contract", 1)[1]
    (block,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    assert len([line for line in block.splitlines() if line.strip()]) <= 5
    module = BACKEND.replace("IDS(ids)", "ids").split("class TestMemoryBackend")[0]
    pytester.makepyfile(
        my_backend=module
        + "\nMyBackend = MemoryBackend\n\n"
        + "def my_context():\n    return Context(name='test', backend='memory')\n",
        test_guide=block,
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "test_guide.py")
    result.assert_outcomes(passed=10)
