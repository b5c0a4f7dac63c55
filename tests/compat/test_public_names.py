"""The kind and status words of the public client's documentation are understood here."""

from __future__ import annotations

import pytest

from canfar.errors import ValidationError
from canfar.sessions import Session
from canfar_core.public_names import PUBLIC_KINDS, PUBLIC_STATUSES, canonical_kind, canonical_status

OURS = ("notebook", "headless", "desktop", "carta", "firefly", "contributed")


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Succeeded", "Completed"),
        ("succeeded", "Completed"),
        ("Error", "Failed"),
        ("completed", "Completed"),
        ("Running", "Running"),
        ("TERMINATING", "Terminating"),
    ],
)
def test_public_statuses_mean_ours(given, meant):
    assert canonical_status(given) == meant


def test_every_documented_status_is_accepted():
    for status in PUBLIC_STATUSES:
        assert canonical_status(status) in (
            "Pending",
            "Running",
            "Terminating",
            "Completed",
            "Failed",
        )


@pytest.mark.parametrize("bad", ["Done", "", 3, None])
def test_other_statuses_are_refused_with_the_accepted_words(bad):
    with pytest.raises(ValidationError, match="unknown status") as caught:
        canonical_status(bad)
    assert "Succeeded" in str(caught.value)
    assert "Completed" in str(caught.value)


def test_desktop_app_can_be_listed_but_not_launched():
    assert canonical_kind("desktop-app", OURS, listing=True) == "desktop-app"
    with pytest.raises(ValidationError, match="inside a running desktop session"):
        canonical_kind("desktop-app", OURS)


def test_every_documented_kind_lists():
    for kind in PUBLIC_KINDS:
        assert canonical_kind(kind.upper(), OURS, listing=True) == kind


def test_fetch_with_the_public_status_sends_the_servers_word(fake_skaha, skaha_context):
    done = fake_skaha.add_session(name="done", status="Completed")
    fake_skaha.add_session(name="busy", status="Running")
    with Session() as session:
        found = session.fetch(kind="headless", status="Succeeded")
    assert [s["id"] for s in found] == [done]
    listing = fake_skaha.requests_to("GET")[-1]
    assert listing.param("status") == "Completed"
    assert listing.param("type") == "headless"


def test_fetch_desktop_apps_asks_the_server_for_them(fake_skaha, skaha_context):
    with Session() as session:
        assert session.fetch(kind="desktop-app") == []
    assert fake_skaha.requests_to("GET")[-1].param("type") == "desktop-app"


def test_creating_a_desktop_app_sends_nothing(fake_skaha, skaha_context):
    with Session() as session, pytest.raises(ValidationError, match="desktop session"):
        session.create(name="app", image="images.canfar.net/skaha/terminal:1", kind="desktop-app")
    assert fake_skaha.requests_to("POST") == []


def test_the_command_line_accepts_the_public_status(run, fake_skaha, skaha_context):
    fake_skaha.add_session(name="done", status="Completed")
    result = run("ps", "--all", "--status", "Succeeded", "-q")
    assert result.code == 0, result.err
    assert len(result.out.split()) == 1
