"""Saving, activating and removing contexts in the config (secrets in the credentials file).

``save_context`` lives in the core (a login of the public client is imported there too).
"""

from __future__ import annotations

from typing import Any

from canfar_core import config
from canfar_core.contexts import (
    LOCAL,
    Context,
    save_context,
    saved_contexts,
    saved_entries,
    set_active,
)

__all__ = [
    "active_name",
    "broken_contexts",
    "clear_registry_login",
    "registry_login",
    "remove_context",
    "save_context",
    "save_login",
    "save_registry_login",
    "saved_names",
    "set_active",
]
from canfar_core.errors import ConfigError, NotFound, ValidationError


def saved_names() -> list[str]:
    """The names of the saved contexts, including any too broken to use."""
    return list(saved_entries(config.config_file().read()))


def broken_contexts() -> dict[str, str]:
    """Why each saved context that cannot be used cannot, by name."""
    broken: dict[str, str] = {}
    for name, entry in saved_entries(config.config_file().read()).items():
        try:
            saved_contexts({"contexts": {name: entry}})
        except ConfigError as exc:
            broken[name] = str(exc)
    return broken


def active_name() -> str | None:
    """The name of the saved active context, if any (``local`` is none)."""
    active = config.config_file().read().get("active")
    return active if isinstance(active, str) and active and active != LOCAL else None


def remove_context(name: str) -> Context:
    """Forget a saved context and its secrets; the active one falls back to ``local``, which is
    saved as the active context so that the fallback is remembered: a login of the public
    client is not imported again behind the user's back.

    The entry is removed as it is in the file, so a context too broken to use can be removed.
    """
    config_file = config.config_file()
    with config_file.lock():
        with config_file.update() as data:
            entries = saved_entries(data)
            if name not in entries:
                if name == LOCAL:
                    raise ValidationError("the local backend needs no logout")
                known = ", ".join(entries) or "none saved"
                raise NotFound(f"no context named '{name}' (known: {known})")
            entry = entries.pop(name)
            fields = entry if isinstance(entry, dict) else {}
            url = fields.get("url")
            removed = Context(
                name=name,
                backend=str(fields.get("backend") or "unknown"),
                url=url if isinstance(url, str) else None,
            )
            if data.get("active") == name:
                data["active"] = LOCAL
        secrets = config.credentials_file()
        if name in secrets.read():
            with secrets.update() as stored:
                stored.pop(name, None)
    return removed


def save_login(context: Context, secrets: dict[str, Any]) -> str | None:
    """Save a login's context and secrets, as :func:`save_context` does, making it active.

    A registry login belongs to the server it was saved for: when a context of this name was
    saved for another server (or none), its registry login is dropped, never sent to the new
    one. Returns the server it was saved for when one was dropped (the caller says so), else
    ``None``.
    """
    config_file = config.config_file()
    with config_file.lock():  # the credentials file is in the same folder: one lock for both
        old = saved_entries(config_file.read()).get(context.name)
        before = old.get("url") if isinstance(old, dict) else None
        moved = isinstance(old, dict) and _server(before) != _server(context.url)
        dropped = moved and clear_registry_login(context)
        save_context(context, secrets)
    return (str(before) if before else "no server") if dropped else None


def _server(url: Any) -> str | None:
    return url.strip().rstrip("/") if isinstance(url, str) and url.strip() else None


def registry_login(context: Context) -> dict[str, Any] | None:
    """The container-registry login saved for ``context``: ``{"username", "secret"}``."""
    from canfar_core.auth import REGISTRY_LOGIN

    entry = config.credentials_file().read().get(context.name)
    login = entry.get(REGISTRY_LOGIN) if isinstance(entry, dict) else None
    return login if isinstance(login, dict) else None


def save_registry_login(context: Context, username: str, secret: str) -> None:
    """Save a registry login beside the context's other secrets, in the credentials file only.

    The stored entry is read as it is on disk (never with secrets from the environment), so
    nothing but the registry login is added to it.
    """
    from canfar_core.auth import REGISTRY_LOGIN

    check_registry_login(username, secret)
    with config.credentials_file().update() as data:
        stored = data.get(context.name)
        entry = dict(stored) if isinstance(stored, dict) else {}
        # bound to the server it is for: a context later pointed elsewhere (`config set
        # contexts.NAME.url`, an imported login) does not hand it to another server
        entry[REGISTRY_LOGIN] = {"username": username, "secret": secret}
        if _server(context.url):
            entry[REGISTRY_LOGIN]["server"] = _server(context.url)
        data[context.name] = entry


def clear_registry_login(context: Context) -> bool:
    """Forget ``context``'s registry login; ``False`` when none was saved."""
    from canfar_core.auth import REGISTRY_LOGIN

    store = config.credentials_file()
    with store.lock():
        data = store.read()
        entry = data.get(context.name)
        if not isinstance(entry, dict) or REGISTRY_LOGIN not in entry:
            return False
        del entry[REGISTRY_LOGIN]
        if entry:
            data[context.name] = entry
        else:
            del data[context.name]
        store.write(data)
    return True


def check_registry_login(username: str, secret: str | None = None) -> None:
    """Refuse a container-registry login that cannot be carried as ``username:secret``.

    Registries and the CANFAR service take the login as base64 of ``username:secret`` with
    exactly one ``:`` (for CANFAR, in the ``X-Skaha-Registry-Auth`` header), so neither part
    may hold one. The secret is never named in the message.
    """
    if not username:
        raise ValidationError("the registry username must not be empty")
    if ":" in username:
        raise ValidationError(
            f"registry username '{username}' contains ':'; the platform receives the login as "
            "username:secret, so a username with ':' cannot be used"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in username):
        raise ValidationError(
            f"registry username {username!r} contains a space or control character"
        )
    if secret is None:
        return
    if not secret:
        raise ValidationError("the registry secret is empty; nothing was saved")
    if ":" in secret:
        raise ValidationError(
            "the registry secret contains ':'; the platform receives the login as "
            "username:secret and cannot carry it (nothing was saved)"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in secret):
        raise ValidationError(
            "the registry secret contains a space, a line break or a control character; "
            "give it on one line (nothing was saved)"
        )
