"""The local backend honours the backend contract that canfar ships for backend packages."""

from __future__ import annotations

import pytest

from canfar_core.testing import BackendContract


class TestLocalBackend(BackendContract):
    @pytest.fixture
    def backend(self, session):
        return session.backend
