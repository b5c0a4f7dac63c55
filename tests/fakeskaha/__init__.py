"""A fake Skaha session service for tests: a real HTTP server on loopback.

::

    from tests.fakeskaha import FakeSkaha

    with FakeSkaha() as server:
        ...  # server.url, server.token, server.requests, server.inject(...)

The pytest fixtures ``fake_skaha`` and ``skaha_context`` live in
:mod:`tests.fakeskaha.fixtures`; a conftest makes them available with
``from tests.fakeskaha.fixtures import fake_skaha, skaha_context``.
"""

from tests.fakeskaha.server import (
    DEFAULT_CONTEXT,
    DEFAULT_IMAGES,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    FakeSession,
    FakeSkaha,
    Fault,
    RecordedRequest,
    wait_until,
)

__all__ = [
    "DEFAULT_CONTEXT",
    "DEFAULT_IMAGES",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "FakeSession",
    "FakeSkaha",
    "Fault",
    "RecordedRequest",
    "wait_until",
]
