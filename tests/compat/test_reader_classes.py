"""``Images``, ``Context``, ``Overview`` and logging as the platform client documents them, on
the fake Skaha service and on this machine."""

from __future__ import annotations

import logging

import canfar
from canfar.context import Context
from canfar.images import Images
from canfar.overview import Overview


def test_images_fetch_gives_ids_and_details_gives_records(fake_skaha, skaha_context):
    with Images() as images:
        names = images.fetch(kind="headless")
        details = images.details()
    assert names
    assert all(isinstance(name, str) for name in names)
    assert {d.id for d in details} >= set(names)
    assert all(d.types for d in details)
    assert fake_skaha.requests_to("GET", r"/image$")[0].param("type") == "headless"


def test_context_resources_read_as_the_servers_record(fake_skaha, skaha_context):
    with Context() as context:
        offer = context.resources()
    assert "options" in offer["cores"]
    assert offer.get("memoryGB")["options"]
    assert offer.cores == [float(v) for v in offer["cores"]["options"]]
    assert fake_skaha.requests_to("GET", r"/context$")


def test_context_resources_on_this_machine_have_the_same_keys(canfar_home):
    with Context(backend="local") as context:
        offer = context.resources()
    assert {"cores", "memoryGB", "gpus"} <= set(offer)
    assert offer["cores"]["options"] == offer.cores


def test_overview_reports_the_server_available(fake_skaha, skaha_context):
    with Overview() as overview:
        assert overview.availability() is True
    assert fake_skaha.requests_to("GET", r"/availability$")


def test_overview_of_an_unreachable_server_is_false_and_logged(fake_skaha, skaha_context, caplog):
    fake_skaha.inject("GET", r"/availability$", 503, times=None)
    caplog.set_level(logging.WARNING, logger="canfar")
    with Overview() as overview:
        assert overview.availability() is False
    assert "503" in caplog.text


def test_overview_on_this_machine_is_available(canfar_home):
    assert Overview(backend="local").availability() is True


def test_configure_logging_shows_the_sessions_logger(fake_skaha, skaha_context, capsys):
    sid = fake_skaha.add_session(name="a", logs="out\n")
    canfar.configure_logging("info")
    from canfar.sessions import Session

    with Session() as session:
        session.logs(sid, verbose=True)
    err = capsys.readouterr().err
    assert "canfar.sessions" in err
    assert sid in err
    assert canfar.get_logger("sessions") is logging.getLogger("canfar.sessions")
