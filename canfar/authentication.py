"""Logging in from Python, as the platform client's ``canfar.authentication`` does::

    import canfar
    from canfar import authentication

    canfar.login("srcnet")          # a device login: the URL and code are printed
    authentication.list()           # the saved logins
    authentication.use("cadc")      # sessions run on the CANFAR server from now on

Each function is the ``canfar login`` / ``canfar auth`` command of the same name, run in this
process: one implementation, so a login saved here is the one the command line sees. An
identity provider is ``cadc`` (the CANFAR server, X.509), ``srcnet`` (its OIDC servers) or the
name of a saved context or a server the registries list.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from canfar_core.errors import AuthError, CanfarError, NotFound

if TYPE_CHECKING:
    from canfar_core.contexts import Context


class AuthenticationError(AuthError):
    """A login could not be made, found or removed (its credentials, or finding its servers)."""


def _run(*args: str) -> None:
    """Run the ``canfar`` command ``args`` here, letting its errors through as exceptions."""
    from canfar_core.cli import build_cli

    build_cli().main(args=builtins.list(args), prog_name="canfar", standalone_mode=False)


def _server_contexts() -> dict[str, Context]:
    from canfar_core.contexts import LOCAL, saved_contexts

    return {name: c for name, c in saved_contexts().items() if c.backend != LOCAL}


def _saved_name(idp: str) -> str | None:
    """The saved context ``idp`` names: itself, or the one login of a public identity provider
    (``cadc`` prefers the context named ``canfar``). ``None`` when there is none."""
    from canfar_plugins._support.public_client import IDP_AUTH

    saved = _server_contexts()
    if idp in saved:
        return idp
    mode = IDP_AUTH.get(idp.lower())
    if mode is None:
        return None
    names = [name for name, c in sorted(saved.items()) if c.auth == mode]
    if idp.lower() == "cadc" and "canfar" in names:
        return "canfar"
    if len(names) > 1:
        raise AuthenticationError(f"{idp} has several saved logins ({', '.join(names)}): name one")
    return names[0] if names else None


def _known_name(idp: str) -> str:
    """The saved context of ``idp``: KeyError when ``idp`` is no identity provider or context,
    AuthenticationError when it is one but has no saved login."""
    from canfar_plugins._support.public_client import IDP_AUTH

    if not isinstance(idp, str):
        raise KeyError(idp)
    name = _saved_name(idp)
    if name is not None:
        return name
    if idp.lower() in IDP_AUTH:
        raise AuthenticationError(f"not logged in with {idp}: run canfar.login({idp!r}) first")
    raise KeyError(idp)


def login(idp: str, force: bool = False) -> bool:
    """Log in with ``idp`` and make its server where sessions run; True once a login is saved.

    A saved login that is still valid is kept unless ``force``. A device login prints its URL
    and code on stderr. An unknown ``idp`` is KeyError; failed credentials or server discovery
    are :class:`AuthenticationError`.
    """
    if not isinstance(idp, str) or not idp.strip():
        raise KeyError(idp)
    from canfar_plugins._support.public_client import IDP_AUTH

    target = _saved_name(idp.strip()) or idp.strip()
    try:
        _run("auth", "login", target, *(["--force"] if force else []))
    except NotFound as exc:
        if target.lower() in IDP_AUTH:
            raise AuthenticationError(str(exc)) from None
        raise KeyError(idp) from None
    except AuthenticationError:
        raise
    except CanfarError as exc:
        raise AuthenticationError(str(exc)) from None
    return True


async def alogin(idp: str, force: bool = False) -> bool:
    """:func:`login` in a worker thread, so an event loop keeps running meanwhile."""
    import asyncio

    return await asyncio.to_thread(login, idp, force)


def use(idp: str) -> None:
    """Make the saved login of ``idp`` the one sessions and commands use."""
    from canfar_plugins._support.contexts import set_active

    set_active(_known_name(idp))


def list() -> builtins.list[Context]:  # the public client's name, shadowing the builtin here
    """The saved logins (contexts with a server), by name."""
    return [c for _, c in sorted(_server_contexts().items())]


def show() -> Context:
    """The active login; AuthenticationError when sessions run without one."""
    from canfar_core.contexts import active_context

    active = active_context()
    if active.name not in _server_contexts() or active.source != "config":
        raise AuthenticationError("not logged in: sessions run on this machine")
    return active


def remove(idp: str, *, force: bool = False) -> None:
    """Forget the login of ``idp`` and its credentials; the active one only with ``force``."""
    from canfar_core.contexts import active_context

    name = _known_name(idp)
    if not force and active_context().name == name:
        raise AuthenticationError(f"'{name}' is the active login: add force=True to remove it")
    _run("auth", "rm", name, "--force")


def purge(*, force: bool = False) -> None:
    """Forget every saved login and its credentials; ``force`` is required."""
    if not force:
        raise AuthenticationError("this removes every saved login: add force=True to do it")
    _run("auth", "purge", "--force")


__all__ = ["AuthenticationError", "alogin", "list", "login", "purge", "remove", "show", "use"]
