"""The platform backend, over the fake Skaha service, honours the backend contract that canfar
ships for backend packages."""

from __future__ import annotations

import pytest

from canfar.sessions import Session
from canfar_core.testing import BackendContract


class TestPlatformBackend(BackendContract):
    image = "images.canfar.net/skaha/terminal:1.1.2"

    @pytest.fixture
    def backend(self, skaha_context):
        return Session().backend
