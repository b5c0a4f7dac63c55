"""Saving the logs of a batch before the platform removes it: ``canfar logs -o DIR ID...``
against the fake service, fetched a few at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakeskaha import FakeSkaha
from tests.fakeskaha.server import HEADLESS_TTL

LOG = "λ = 5 µm\ttab\r\n\x1b[1mbold\x1b[0m [red]not markup[/red]\n" + "y" * 5000 + "\nend"


@pytest.fixture
def batch(fake_skaha: FakeSkaha, skaha_context: str) -> list[str]:
    """Twelve finished replicas ``fit-1`` ... ``fit-12``, each with its own log."""
    ids = []
    for k in range(1, 13):
        sid = fake_skaha.add_session(name=f"fit-{k}", status="Completed", logs=f"{k}\n{LOG}")
        ids.append(sid)
    return ids


def test_a_batch_is_saved_concurrently_byte_exact(run, fake_skaha, batch, tmp_path, monkeypatch):
    monkeypatch.setenv("CANFAR_CONCURRENCY", "4")  # followed, as the Python API follows it
    fake_skaha.inject("GET", r"/v1/session/[a-z0-9]+$", delay=0.05, times=None)
    fake_skaha.clear_requests()
    listed = run("ps", "-q", "--all").out.split()
    assert sorted(listed) == sorted(batch)
    result = run("logs", "-o", str(tmp_path / "logs"), *listed)
    assert result.code == 0, result.err
    files = sorted((tmp_path / "logs").iterdir())
    assert [f.name for f in files] == [f"fit-{k:03d}.{sid}.log" for k, sid in enumerate(batch, 1)]
    for k, path in enumerate(files, 1):
        assert path.read_bytes() == f"{k}\n{LOG}".encode()
    assert len(result.err.splitlines()) == 12
    assert 2 <= fake_skaha.max_in_flight <= 4
    gets = fake_skaha.requests_to("GET", r"/v1/session/")
    assert sorted(r.param("view") or "" for r in gets) == ["logs"] * 12  # one request per log


def test_sessions_already_removed_fail_one_line_each(run, fake_skaha, batch, tmp_path):
    gone = fake_skaha.add_session(name="old", status="Completed", logs="lost\n")
    fake_skaha.advance(HEADLESS_TTL + 60)  # every session above has now been removed...
    kept = fake_skaha.add_session(name="new", status="Running", logs="running\n")
    out = tmp_path / "out"
    result = run("logs", "--json", "-o", str(out), gone, kept)
    assert result.code == 1
    assert result.err == f"Error: session {gone} not found\n"
    rows = json.loads(result.out)
    assert [(r["id"], r["error"] is None) for r in rows] == [(gone, False), (kept, True)]
    assert Path(rows[1]["path"]).read_bytes() == b"running\n"
    assert [p.name for p in out.iterdir()] == [f"new.{kept}.log"]  # no empty file


def test_several_ids_print_with_headers(run, fake_skaha, batch):
    result = run("logs", batch[0], batch[1])
    assert result.code == 0
    assert result.out == f"==> {batch[0]} <==\n1\n{LOG}\n==> {batch[1]} <==\n2\n{LOG}"


def test_refused_credentials_stop_the_batch_with_one_line(run, fake_skaha, batch, tmp_path):
    fake_skaha.tokens.clear()
    out = tmp_path / "out"
    result = run("logs", "-o", str(out), *batch[:3])
    assert result.code == 1
    [line] = result.err.strip().splitlines()  # the listing fails first: nothing else is sent
    assert "did not accept your credentials" in line
    assert list(out.iterdir()) == []
    assert len(fake_skaha.requests) == 1


def test_an_outage_of_some_logs_fails_those_ids_only(run, fake_skaha, batch, tmp_path):
    fake_skaha.inject("GET", rf"/v1/session/{batch[1]}$", status=500, body="log store down")
    result = run("logs", "-q", "-o", str(tmp_path / "out"), *batch[:3])
    assert result.code == 1
    assert [Path(p).name.split(".")[1] for p in result.out.splitlines()] == [batch[0], batch[2]]
    [line] = result.err.strip().splitlines()
    assert line.startswith("Error: ")
    assert batch[1] in line
    assert "log store down" in line


def test_several_ids_are_printed_fetching_concurrency_at_a_time(
    run, fake_skaha, batch, monkeypatch
):
    """``canfar logs ID...`` follows CANFAR_CONCURRENCY, as ``Session.logs`` does."""
    monkeypatch.setenv("CANFAR_CONCURRENCY", "2")
    fake_skaha.inject("GET", r"/v1/session/[a-z0-9]+$", delay=0.05, times=None)
    fake_skaha.clear_requests()
    result = run("logs", *batch)
    assert result.code == 0, result.err
    assert result.out.count("==> ") == len(batch)
    assert 1 <= fake_skaha.max_in_flight <= 2
