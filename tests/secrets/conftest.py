"""Fixtures for the secrets tests: see :mod:`tests.faults.harness`."""

from tests.faults.harness import fake, hermetic, run

__all__ = ["fake", "hermetic", "run"]
