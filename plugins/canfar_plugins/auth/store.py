"""Saving, activating and removing contexts in the config (secrets in the credentials file)."""

from __future__ import annotations

from typing import Any

from canfar_core import config
from canfar_core.contexts import LOCAL, Context, saved_contexts
from canfar_core.errors import NotFound, ValidationError


def save_context(context: Context, secrets: dict[str, Any], *, activate: bool = True) -> None:
    """Save ``context`` (replacing one of the same name) and its secrets; make it active.

    The secrets are written first, so a saved context never points at missing credentials.
    """
    if context.name == LOCAL:
        raise ValidationError("'local' is the name of this machine's backend; choose another name")
    store = config.config_file()
    data = store.read()  # a config that cannot be read stops here, before any secret is saved
    Context(name=context.name, backend=context.backend, source="config").save_credentials(secrets)
    contexts = data.get("contexts")
    if not isinstance(contexts, dict):
        contexts = data["contexts"] = {}
    contexts[context.name] = context.to_config()
    if activate:
        data["active"] = context.name
    store.write(data)


def set_active(name: str) -> Context:
    """Make a saved context (or ``local``) the active one."""
    contexts = saved_contexts()
    if name != LOCAL and name not in contexts:
        known = ", ".join([LOCAL, *contexts])
        raise NotFound(f"no context named '{name}' (known: {known})")
    store = config.config_file()
    data = store.read()
    data["active"] = name
    store.write(data)
    return contexts.get(name) or Context(name=LOCAL, backend=LOCAL, source="default")


def active_name() -> str | None:
    """The name of the saved active context, if any."""
    active = config.config_file().read().get("active")
    return active if isinstance(active, str) and active else None


def remove_context(name: str) -> Context:
    """Forget a saved context and its secrets; the active one falls back to ``local``.

    The entry is removed as it is in the file, so a context too broken to use can be removed.
    """
    store = config.config_file()
    data = store.read()
    entries = data.get("contexts") or {}
    if not isinstance(entries, dict):
        saved_contexts(data)  # raises the error that names the file
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
        data.pop("active", None)
    store.write(data)
    secrets = config.credentials_file()
    stored = secrets.read()
    if name in stored:
        stored.pop(name)
        secrets.write(stored)
    return removed
