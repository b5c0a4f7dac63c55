"""Where sessions run (this project's contexts), and what one session may ask for there::

import canfar.contexts

print(canfar.contexts.active().name)        # "local" until you log in
offer = canfar.contexts.resources()
print(offer.cores, offer.ram, offer.gpus)   # the values a session may request

``canfar.context`` offers the same functions; there, ``Context`` is the platform client's
resource reader (``canfar.context.Context().resources()``), while here it is the record of a
saved context.
"""

from __future__ import annotations

from canfar.sessions import Session
from canfar_core.contexts import Context, active_context, get_context, saved_contexts
from canfar_core.models import ResourceContext


def active() -> Context:
    """The context used when none is named (see ``canfar auth switch``)."""
    return active_context()


def get(name: str) -> Context:
    """A saved context by name; :class:`~canfar.errors.NotFound` when there is none."""
    return get_context(name)


def names() -> list[str]:
    """The names of the saved contexts (``local`` always exists)."""
    return ["local", *(name for name in saved_contexts() if name != "local")]


def resources(context: str | None = None, backend: str | None = None) -> ResourceContext:
    """The cores, memory (GB) and GPUs one session may request, with the defaults."""
    with Session(context=context, backend=backend) as session:
        return session.resources()


__all__ = ["Context", "ResourceContext", "active", "get", "names", "resources"]
