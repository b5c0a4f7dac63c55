"""Fixtures for the fault tests: see tests.faults.harness and tests.faults.replicas."""

from tests.faults.harness import fake, hermetic, run
from tests.faults.replicas import tag

__all__ = ["fake", "hermetic", "run", "tag"]
