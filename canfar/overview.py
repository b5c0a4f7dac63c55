"""Whether the platform is up, as the platform client documents it::

from canfar.overview import Overview

with Overview() as overview:
    if overview.availability():
        print("available")
"""

from __future__ import annotations

from canfar._client import SessionClient


class Overview(SessionClient):
    """Takes :class:`~canfar.sessions.Session`'s arguments."""

    def availability(self) -> bool:
        """``True`` when the service says it is available (this machine always is). A service
        that cannot be reached, or answers something else, is ``False``, and the reason is
        logged as a warning on the ``canfar`` logger."""
        return self.session.available()


__all__ = ["Overview"]
