"""The Slurm backend, over the fake Slurm commands, honours the backend contract that canfar
ships for backend packages."""

from __future__ import annotations

import pytest
from canfar_slurm import create_backend

from canfar_core.contexts import Context
from canfar_core.testing import BackendContract


class TestSlurmBackend(BackendContract):
    image = "img/x:1"
    unknown_id = "999999_1"

    @pytest.fixture
    def backend(self, canfar_home, fake_slurm, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        return create_backend(Context(name="slurm", backend="slurm"))
