"""The error one session id met, read from ``SessionRequestError`` as the command line reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from canfar_core.errors import CanfarError, SessionRequestError


def failure_of(method: Callable[..., Any], session_id: str) -> CanfarError:
    """What ``method(session_id, errors="raise")`` (``info``, ``logs``, ``urls``, ...) met for
    that id; the test fails if it did not fail. ``raise failure_of(...)`` inside
    ``pytest.raises`` checks it as the single-id call of old was checked."""
    with pytest.raises(SessionRequestError) as caught:
        method(session_id, errors="raise")
    error = caught.value.errors[session_id]  # type: ignore[index]
    assert isinstance(error, CanfarError)
    return error


def reasons_of(method: Callable[..., Any], ids: str | list[str]) -> dict[str, str | None]:
    """``destroy`` or ``renew`` of ``ids`` as the command line reports it: ``None`` for each id
    done, else the reason it was not (read from ``SessionRequestError.errors``)."""
    try:
        return dict.fromkeys(method(ids, errors="raise"))
    except SessionRequestError as exc:
        return {sid: None if ok else str(exc.errors[sid]) for sid, ok in exc.results.items()}  # type: ignore[attr-defined,index]
