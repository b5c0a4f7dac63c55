"""What one session may request on the platform, read as the platform client documents it::

    from canfar.context import Context

    with Context() as context:
        resources = context.resources()
        print(resources["cores"], resources.get("memoryGB"), resources.get("gpus"))
        print(resources.cores)          # typed too: the accepted values, as a list

The module functions of :mod:`canfar.contexts` (``active``, ``get``, ``names``, ``resources``)
are here as well; only the name ``Context`` differs: here the reader class, there the record of
a saved context.
"""

from __future__ import annotations

from canfar._client import SessionClient
from canfar.contexts import active, get, names, resources
from canfar_core.models import ResourceContext


class Context(SessionClient):
    """Reads the resources the server (or this machine) offers one session.

    Takes :class:`~canfar.sessions.Session`'s arguments (``token=``, ``url=``, ...).
    """

    def resources(self) -> ResourceContext:
        """The offer: reads as the server's record (``["cores"]``, ``.get("memoryGB")``,
        ``.get("gpus")``, ``.get("maxInteractiveSessions")``) and has typed fields."""
        return self.session.resources()


__all__ = ["Context", "ResourceContext", "active", "get", "names", "resources"]
