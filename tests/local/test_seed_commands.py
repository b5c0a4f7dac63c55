"""The first commands a new user types, in this order, exactly as written, on this machine (no
login): real processes, a notebook server on loopback, the SQLite state.

``canfar auth login -f`` comes first, as typed. With no server saved and no terminal to choose
one on, there is nothing to log in to: it says how to name one, exits 2 and leaves sessions
running here, which is where the rest of the commands then run.
"""

from __future__ import annotations

import json
import os
import sys

from tests.local.conftest import linux_only, wait_for
from tests.local.test_notebook import fake_lab

__all__ = ["fake_lab"]

ECHO = """import os
print("hello from replica", os.environ.get("REPLICA_ID"), "of", os.environ.get("REPLICA_COUNT"))
"""


def first_id(out: str) -> str:
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows[0][0] == "ID", out
    return rows[2][0]


@linux_only
def test_the_seed_commands_in_order(session, fake_lab, workdir, run, monkeypatch):
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # `python` as the user's shell finds it
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    (workdir / "echo.py").write_text(ECHO)

    # canfar auth login -f
    login = run("auth", "login", "-f")
    assert login.code == 2, login.err
    assert "canfar auth login --url" in login.err
    assert json.loads(run("auth", "show", "-o", "json").out)["backend"] == "local"

    # canfar create notebook skaha/astroml:latest
    notebook = run("create", "notebook", "skaha/astroml:latest")
    assert notebook.code == 0, notebook.err
    session_id = first_id(notebook.out)

    # canfar ps --all
    listed = run("ps", "--all")
    assert listed.code == 0, listed.err
    assert session_id in listed.out

    # canfar open ID (once the notebook server answers)
    wait_for(lambda: session.info(session_id)[0].status == "Running", 20, "the notebook")
    opened = run("open", session_id)
    assert opened.code == 0, opened.err
    assert opened.out.startswith("http://127.0.0.1:")
    assert "token=" in opened.out

    # canfar delete ID (typed at a terminal: it asks, the user says yes)
    deleted = run("delete", session_id, stdin="y\n", terminal=True)
    assert deleted.code == 0, deleted.err
    assert deleted.out.split() == [session_id]
    assert session_id not in run("ps", "-q").out.split()

    # canfar create headless ... -- python echo.py
    headless = run("create", "headless", "skaha/astroml:latest", "--", "python", "echo.py")
    assert headless.code == 0, headless.err
    job = first_id(headless.out)
    wait_for(lambda: session.info(job)[0].status in ("Completed", "Failed"), 20, "the job")
    assert session.info(job)[0].status == "Completed"

    # canfar logs ID
    logs = run("logs", job)
    assert logs.code == 0, logs.err
    assert logs.out == "hello from replica 1 of 1\n"

    # canfar create --replicas 10 headless ...
    many = run(
        "create", "--replicas", "10", "headless", "skaha/astroml:latest", "--", "python", "echo.py"
    )
    assert many.code == 0, many.err
    ids = [line.split()[0] for line in many.out.splitlines()[2:] if line.strip()]
    assert len(ids) == 10
    wait_for(
        lambda: all(session.info(i)[0].status in ("Completed", "Failed") for i in ids),
        60,
        "replicas",
    )
    outputs = sorted(run("logs", i).out for i in ids)
    assert outputs == sorted(f"hello from replica {k} of 10\n" for k in range(1, 11))
