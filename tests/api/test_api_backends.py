"""The platform tutorial's snippet, run unchanged as a script on the real backends:
the local backend (no login) and the canfar backend against the fake Skaha service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from canfar.sessions import Session
from canfar_core.models import FINAL_STATUSES
from tests.failures import reasons_of
from tests.fakeskaha.fixtures import fake_skaha, skaha_context

__all__ = ["fake_skaha", "skaha_context"]

TUTORIAL = """\
from canfar.sessions import Session
session = Session()
ids = session.create(name="galaxy-processing-batch", kind="headless", image="skaha/astroml:latest", cmd="python", args=["my_script.py"], replicas={replicas})
"""  # noqa: E501 (the tutorial, verbatim)
MY_SCRIPT = """\
import os
print("replica", os.environ["REPLICA_ID"], "of", os.environ["REPLICA_COUNT"])
"""


def run_tutorial(folder: Path, replicas: int) -> list[str]:
    """Run the snippet as a script in ``folder``; the ids it got back."""
    (folder / "my_script.py").write_text(MY_SCRIPT)
    script = folder / "tutorial.py"
    script.write_text(TUTORIAL.format(replicas=replicas) + "import json; print(json.dumps(ids))\n")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture
def local_session(canfar_home, tmp_path):
    session = Session()
    assert session.context.backend == "local"
    yield session
    leftovers = [s.id for s in session.fetch()]
    if leftovers:
        session.destroy(leftovers)


def test_tutorial_on_the_local_backend(local_session, tmp_path):
    ids = run_tutorial(tmp_path, replicas=4)
    assert len(set(ids)) == 4
    states = local_session.wait(ids, status=FINAL_STATUSES, timeout=30, poll=0.05)
    assert {s.status for s in states.values()} == {"Completed"}
    assert [states[i].name for i in ids] == [f"galaxy-processing-batch-{k}" for k in range(1, 5)]
    assert [local_session.logs(i, errors="raise")[i] for i in ids] == [
        f"replica {k} of 4\n" for k in range(1, 5)
    ]
    assert {s.id for s in local_session.fetch()} == set(ids)
    assert reasons_of(local_session.destroy, ids) == dict.fromkeys(ids)
    assert local_session.fetch() == []


def test_tutorial_on_the_canfar_backend(skaha_context, fake_skaha, tmp_path, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    ids = run_tutorial(tmp_path, replicas=3)
    assert len(set(ids)) == 3
    session = Session()
    assert session.context.backend == "canfar"
    listed = {s.id: s for s in session.fetch()}
    assert set(listed) == set(ids)
    assert sorted(s.name for s in listed.values()) == [
        f"galaxy-processing-batch-{k}" for k in range(1, 4)
    ]
    assert all(v is None for v in reasons_of(session.destroy, ids).values())
    assert session.fetch() == []


def test_async_session_watches_many_local_sessions_at_once(local_session, tmp_path, monkeypatch):
    import asyncio

    from canfar.sessions import AsyncSession

    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_script.py").write_text(MY_SCRIPT)

    async def main() -> list[str]:
        async with AsyncSession() as session:
            ids = await session.create(
                name="many",
                image="skaha/astroml:latest",
                cmd=sys.executable,
                args=["my_script.py"],
                replicas=6,
            )
            await asyncio.gather(*(session.info(i, errors="raise") for i in ids))
            await asyncio.gather(
                *(session.wait(i, status=FINAL_STATUSES, timeout=30, poll=0.05) for i in ids)
            )
            texts = await asyncio.gather(*(session.logs(i, errors="raise") for i in ids))
            return [text[i] for text, i in zip(texts, ids, strict=True)]

    assert asyncio.run(main()) == [f"replica {k} of 6\n" for k in range(1, 7)]
