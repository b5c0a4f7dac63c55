"""The servers sessions can run on, and choosing one, as the platform client's ``canfar.server``
does (``list_servers()``, ``use(NAME)``)::

    from canfar import server

    for candidate in server.list_servers():
        print(candidate.name, candidate.url)
    server.use("ws-uv-canfar-net")

Here a server is a saved context: ``canfar auth login`` (or a login of the public client, which
is imported) saves one, and ``use`` makes it the one ``Session()`` and every command use, as
``canfar auth switch NAME`` does.
"""

from __future__ import annotations

from canfar_core.contexts import LOCAL, Context, saved_contexts
from canfar_plugins._support.contexts import set_active


def list_servers() -> list[Context]:
    """The saved contexts that name a server (``name``, ``url``, ``auth``), by name."""
    return [c for _, c in sorted(saved_contexts().items()) if c.url and c.backend != LOCAL]


def use(selector: str) -> None:
    """Make the saved context named ``selector`` (or the one whose URL it is) where sessions
    run; ``"local"`` chooses this machine. An unknown one is
    :class:`~canfar.errors.NotFound`, listing the known ones."""
    if not isinstance(selector, str):
        from canfar_core.errors import ValidationError

        raise ValidationError(f"selector must be a string, not {type(selector).__name__}")
    by_url = {c.url.rstrip("/"): c.name for c in list_servers() if c.url}
    set_active(by_url.get(selector.strip().rstrip("/"), selector.strip()))


__all__ = ["list_servers", "use"]
