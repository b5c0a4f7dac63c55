"""The first commands a new user types, in this order, exactly as written, against the fake
service with an OIDC login made through the fake identity provider."""

from __future__ import annotations

import io

import pytest

from tests.clirun import TerminalInput
from tests.fakeskaha import FakeSkaha
from tests.skaha.fakeidp import FakeIdP


def first_id(out: str) -> str:
    """The id in the first row of the table ``create`` prints."""
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows[0][0] == "ID", out
    return rows[2][0]  # the header, its rule, then the first session


@pytest.fixture
def idp() -> FakeIdP:
    server = FakeIdP(pending_polls=0).start()
    yield server
    server.stop()


def test_the_seed_commands_in_order(
    run, fake_skaha: FakeSkaha, idp: FakeIdP, monkeypatch, tmp_path
):
    fake = fake_skaha
    fake.validator = lambda token: "jdoe" if token.count(".") == 2 else None
    fake.pending_seconds = 0
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # A login saved earlier: the seed starts by forcing a fresh one.
    earlier = run(
        "auth", "login", "--url", fake.url, "--auth", "oidc", "--issuer", idp.issuer,
        "--name", "canfar",
    )  # fmt: skip
    assert earlier.code == 0, earlier.err
    devices = len(idp.devices)
    kept = run("auth", "login")
    assert kept.code == 0, kept.err
    assert "Already logged in" in kept.err
    assert len(idp.devices) == devices  # a valid login is kept without -f

    # canfar auth login -f
    fresh = run("auth", "login", "-f")
    assert fresh.code == 0, fresh.err
    assert "WXYZ-1234" in fresh.err  # the device code of a new login was shown
    assert len(idp.devices) == devices + 1  # one new device authorization

    # canfar create notebook skaha/astroml:latest
    notebook = run("create", "notebook", "skaha/astroml:latest")
    assert notebook.code == 0, notebook.err
    (post,) = fake.requests_to("POST", r"/v1/session$")
    assert (post.param("type"), post.param("image")) == (
        "notebook",
        "images.canfar.net/skaha/astroml:latest",
    )
    session_id = first_id(notebook.out)

    # canfar ps --all
    listed = run("ps", "--all")
    assert listed.code == 0, listed.err
    assert session_id in listed.out

    # canfar open ID
    opened = run("open", session_id)
    assert opened.code == 0, opened.err
    assert opened.out.strip().startswith("http")
    assert session_id in opened.out

    # canfar delete ID (typed at a terminal: it asks, the user says yes)
    monkeypatch.setattr(io, "StringIO", TerminalInput)
    deleted = run("delete", session_id, stdin="y\n")
    assert deleted.code == 0, deleted.err
    assert deleted.out.split() == [session_id]
    assert len(fake.requests_to("DELETE", rf"/v1/session/{session_id}$")) == 1

    # canfar create headless ... -- python echo.py
    fake.clear_requests()
    headless = run("create", "headless", "skaha/astroml:latest", "--", "python", "echo.py")
    assert headless.code == 0, headless.err
    (post,) = fake.requests_to("POST", r"/v1/session$")
    assert (post.param("cmd"), post.param("args")) == ("python", "echo.py")
    job = first_id(headless.out)

    # canfar logs ID
    fake.set_logs(job, "hello from echo.py\n\ttabbed [bold]as is[/bold]\n")
    logs = run("logs", job)
    assert logs.code == 0, logs.err
    assert logs.out == "hello from echo.py\n\ttabbed [bold]as is[/bold]\n"

    # canfar create --replicas 10 headless ...
    fake.clear_requests()
    many = run(
        "create", "--replicas", "10", "headless", "skaha/astroml:latest", "--", "python", "echo.py"
    )
    assert many.code == 0, many.err
    posts = fake.requests_to("POST", r"/v1/session$")
    assert len(posts) == 10
    replica_ids = sorted(int(dict(p.params)["name"].rsplit("-", 1)[1]) for p in posts)
    assert replica_ids == list(range(1, 11))
    assert len(run("ps", "-q").out.split()) >= 10
