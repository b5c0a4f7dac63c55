"""Sessions read as the server's dictionaries, on both backends, with the typed fields kept."""

from __future__ import annotations

import json
import urllib.request

import pytest

from canfar.models import SessionInfo
from canfar.sessions import Session
from canfar_core.models import PLATFORM_KEYS


def server_json(fake, session_id: str) -> dict:
    request = urllib.request.Request(
        f"{fake.api}/session/{session_id}", headers={"Authorization": f"Bearer {fake.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_listed_session_reads_like_the_servers_object(fake_skaha, skaha_context):
    sid = fake_skaha.add_session(name="fit", status="Running", cores=2, ram=8, gpus=1)
    with Session() as session:
        (found,) = session.fetch()
    raw = server_json(fake_skaha, sid)
    assert found["id"] == sid
    assert found.get("type") == "headless"
    assert found["status"] == "Running"
    assert found["connectURL"] == ""
    assert found.get("startTime")
    assert found["requestedRAM"] == raw["requestedRAM"] == "8.59"
    assert found["requestedCPUCores"] == raw["requestedCPUCores"]
    assert found["runAsUID"] == raw["runAsUID"]
    assert set(found) == set(raw)
    assert list(found.platform_dict()) == [k for k in PLATFORM_KEYS if k in raw]
    # the typed attributes are still there
    assert found.id == sid
    assert found.kind == "headless"
    assert found.ram == 8.0
    assert found.cores == 2


def test_missing_keys_read_as_on_the_server(fake_skaha, skaha_context):
    fake_skaha.add_session(name="flex", status="Completed")
    with Session() as session:
        (found,) = session.fetch()
    assert "requestedRAM" not in found
    assert found.get("requestedRAM") is None
    assert found["isFixedResources"] is False
    with pytest.raises(KeyError):
        found["ramInUse"]


def test_a_local_session_has_the_same_shape(canfar_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Session(backend="local") as session:
        (sid,) = session.create(
            name="here", image="python:3", kind="headless", cmd="true", runtime="host"
        )
        session.wait(sid, "Completed", timeout=30)
        (found,) = session.fetch()
    shaped = found.platform_dict()
    assert shaped["id"] == sid
    assert shaped["type"] == "headless"
    assert shaped["name"] == "here"
    assert shaped["status"] == "Completed"
    assert shaped["connectURL"] == ""
    assert shaped["requestedGPUCores"] == "0"
    assert shaped["userid"]
    assert set(shaped) <= set(PLATFORM_KEYS)
    assert json.loads(json.dumps(shaped)) == shaped


def test_records_compare_and_convert_like_dicts():
    record = SessionInfo(
        id="a1", name="n", kind="notebook", image="i", status="Running", backend="local"
    )
    assert dict(record)["type"] == "notebook"
    assert record == SessionInfo(
        **{f: getattr(record, f) for f in ("id", "name", "kind", "image", "status", "backend")}
    )
    assert record != SessionInfo(
        id="a2", name="n", kind="notebook", image="i", status="Running", backend="local"
    )
