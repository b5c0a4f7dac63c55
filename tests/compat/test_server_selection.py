"""``canfar.server.list_servers()`` and ``use(NAME)``: the saved servers, and choosing the one
``Session()`` talks to."""

from __future__ import annotations

import pytest

import canfar
from canfar.errors import NotFound
from canfar.sessions import Session


def test_list_servers_gives_the_saved_ones(fake_skaha, skaha_context):
    (found,) = canfar.server.list_servers()
    assert (found.name, found.url) == ("fake", fake_skaha.url)


def test_use_chooses_where_sessions_run(fake_skaha, skaha_context):
    canfar.server.use("local")
    assert Session().context.backend == "local"
    canfar.server.use(fake_skaha.url)
    with Session() as session:
        assert session.context.name == "fake"
        session.fetch()
    assert fake_skaha.requests_to("GET")


def test_an_unknown_server_is_named_with_the_known_ones(skaha_context):
    with pytest.raises(NotFound, match="known: local, fake"):
        canfar.server.use("elsewhere")
