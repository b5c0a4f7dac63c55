"""Where sessions run, and what one session may ask for there::

import canfar.context

print(canfar.context.active().name)        # "local" until you log in
offer = canfar.context.resources()
print(offer.cores, offer.ram, offer.gpus)  # the values a session may request
"""

from __future__ import annotations

from canfar_core.contexts import Context, active_context, get_context, saved_contexts
from canfar_core.models import ResourceContext
from canfar_core.sessions import Session


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
