"""Counting a test's replica processes, whatever else runs on the machine: each replica gets
``CANFAR_TEST_TAG=<tag>`` (``--env``), and the processes that carry it are read from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def tag() -> Iterator[str]:
    """A tag for this test's replicas; whatever still carries it at the end is killed."""
    value = uuid.uuid4().hex
    yield value
    for pid in tagged(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def tagged(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``CANFAR_TEST_TAG=tag``."""
    return sorted(_tagged(tag))


def tagged_sessions(tag: str) -> set[str]:
    """The sessions (``skaha_sessionid``) of the live processes tagged ``tag``."""
    return set(_tagged(tag).values())


def _tagged(tag: str) -> dict[int, str]:
    wanted = f"CANFAR_TEST_TAG={tag}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state = handle.read().rpartition(b")")[2].split()[0]
        except OSError:
            continue
        if wanted in environ and state != b"Z":
            ids = [v[16:] for v in environ if v.startswith(b"skaha_sessionid=")]
            found[int(entry)] = ids[0].decode() if ids else ""
    return found
