"""A value of the wrong type given to the Python API is a ``ValidationError`` naming the
argument (a ``CanfarError``), never an arbitrary exception from deep inside; an unknown keyword
is Python's ``TypeError``. Nothing reaches the server."""

from __future__ import annotations

import pytest

from canfar.errors import ValidationError
from canfar.sessions import Session

IMAGE = "images.canfar.net/skaha/terminal:1.1.2"

CALLS = {
    "create name": (lambda s: s.create(name=5, image=IMAGE, cmd="true"), "name"),
    "create image": (lambda s: s.create(name="a", image=5, cmd="true"), "image"),
    "create cmd": (lambda s: s.create(name="a", image=IMAGE, cmd=["python"]), "cmd"),
    "create args": (lambda s: s.create(name="a", image=IMAGE, cmd="true", args=5), "args"),
    "create env": (lambda s: s.create(name="a", image=IMAGE, cmd="true", env=["A=1"]), "env"),
    "create cores": (lambda s: s.create(name="a", image=IMAGE, cmd="true", cores="x"), "cores"),
    "create replicas": (lambda s: s.create("a", IMAGE, cmd="true", replicas=2.5), "replicas"),
    "create errors": (lambda s: s.create("a", IMAGE, cmd="true", errors=True), "errors"),
    "fetch status": (lambda s: s.fetch(status=5), "status"),
    "info ids": (lambda s: s.info(5), "ids"),
    "logs ids": (lambda s: s.logs(None), "ids"),
    "logs verbose": (lambda s: s.logs("abcdefgh", verbose="yes"), "verbose"),
    "events ids": (lambda s: s.events(3.5), "ids"),
    "destroy ids": (lambda s: s.destroy(5), "ids"),
    "destroy_with prefix": (lambda s: s.destroy_with(5), "prefix"),
    "destroy_with status": (lambda s: s.destroy_with("a", status=5), "status"),
    "renew ids": (lambda s: s.renew(5), "ids"),
    "connect ids": (lambda s: s.connect(5), "ids"),
    "wait timeout": (lambda s: s.wait("abcdefgh", timeout="soon"), "timeout"),
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_a_wrong_type_is_named_and_nothing_is_sent(fake_skaha, skaha_context, call):
    run, named = CALLS[call]
    with Session() as session, pytest.raises(ValidationError, match=named):
        run(session)
    assert fake_skaha.requests_to("POST") == []
    assert fake_skaha.requests_to("DELETE") == []
