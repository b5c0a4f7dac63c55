"""A fake VOSpace 2.1 storage service on loopback (see :mod:`tests.fakevospace.server`)."""

from tests.fakevospace.server import FakeVOSpace

__all__ = ["FakeVOSpace"]
