"""Fixtures for the ecosystem tests: the fake Skaha service, for the ``canfar`` backend's paths."""

from __future__ import annotations

from tests.fakeskaha.fixtures import fake_skaha

__all__ = ["fake_skaha"]
