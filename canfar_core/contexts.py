"""Contexts: where sessions run and with which credentials.

A context names a backend and, for remote backends, a server URL and an auth provider. Several
are saved side by side in the config, one of them active. Resolution, first match wins:

1. ``CANFAR_BACKEND=local`` forces the local backend;
2. ``CANFAR_URL`` with ``CANFAR_TOKEN`` forms an ad-hoc ``canfar`` context with bearer auth;
3. ``CANFAR_CONTEXT`` names a saved context (as ``--context`` does for one command);
4. the active saved context;
5. the first plugin that answers ``canfar_default_context`` (the built-in ``public_client``
   imports a login of the public ``canfar`` client);
6. otherwise the ``local`` backend, so that canfar works with no account at all.

``CANFAR_TOKEN`` alone replaces the token of the chosen remote context (with no remote context
chosen it is an error naming ``CANFAR_URL``, unless ``CANFAR_BACKEND=local``), and
``CANFAR_BACKEND`` naming another backend replaces the chosen context by a bare one of that
backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from canfar_core import config
from canfar_core.auth import check_token
from canfar_core.errors import ConfigError, NotFound, ValidationError

LOCAL = "local"
ENV_CONTEXT = "environment"
#: Saved secrets of a context that a new login or token refresh keeps (a registry login).
KEPT_SECRETS = ("registry",)


@dataclass
class Context:
    """One place sessions run: a backend, and for remote ones a server and an auth provider."""

    name: str
    backend: str
    url: str | None = None
    auth: str | None = None
    #: Provider or backend settings (a certificate path, an OIDC issuer, ...); never secrets.
    options: dict[str, Any] = field(default_factory=dict)
    #: Where it came from: ``config``, ``environment`` or ``default``.
    source: str = "config"
    #: Secrets given by the environment; they are never written to disk.
    env_secrets: dict[str, Any] = field(default_factory=dict, repr=False)

    def credentials(self) -> dict[str, Any]:
        """This context's secrets: the saved ones, overridden by those from the environment."""
        saved: dict[str, Any] = {}
        if self.source == "config":
            store = config.credentials_file()
            entry = store.read().get(self.name, {})
            if not isinstance(entry, dict):
                raise ConfigError(
                    f"the credentials of '{self.name}' in {store.path} are not a JSON object; "
                    f"log in again: canfar auth login {self.name}"
                )
            saved = dict(entry)
        saved.update(self.env_secrets)
        token = saved.get("token")
        if isinstance(token, str):
            check_token(token, self._token_origin(token))
        return saved

    def _token_origin(self, token: str) -> str:
        """Where this context's bearer token comes from, as an error names it."""
        if self.env_secrets.get("token") != token:
            return f"the token saved for context '{self.name}'"
        if self.source == "environment" or os.environ.get("CANFAR_TOKEN", "").strip() == token:
            return "CANFAR_TOKEN"
        return "the token given"

    def save_credentials(self, secrets: dict[str, Any]) -> None:
        """Store this context's secrets (mode 0600, atomically).

        Secrets that are not the auth provider's (:data:`KEPT_SECRETS`: a container-registry
        login) survive a new login or a token refresh, unless ``secrets`` replaces them.
        """
        if self.source != "config":
            return
        with config.credentials_file().update() as data:
            old = data.get(self.name)
            kept = {k: old[k] for k in KEPT_SECRETS if isinstance(old, dict) and k in old}
            data[self.name] = {**kept, **secrets}

    def to_config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"backend": self.backend}
        if self.url:
            entry["url"] = self.url
        if self.auth:
            entry["auth"] = self.auth
        if self.options:
            entry["options"] = self.options
        return entry


def _from_config(name: str, entry: Any) -> Context:
    if not isinstance(entry, dict) or not isinstance(entry.get("backend"), str):
        raise ConfigError(
            f"context '{name}' in {config.config_file().path} has no backend; "
            f"fix it or run: canfar auth logout {name}"
        )
    for key, kind, what in (
        ("url", str, "text"),
        ("auth", str, "text"),
        ("options", dict, "an object"),
    ):
        value = entry.get(key)
        if value is not None and not isinstance(value, kind):
            raise ConfigError(
                f"context '{name}' in {config.config_file().path}: '{key}' must be {what}, "
                f"not {json.dumps(value)}; fix it or run: canfar auth logout {name}"
            )
    return Context(
        name=name,
        backend=entry["backend"],
        url=entry.get("url"),
        auth=entry.get("auth"),
        options=dict(entry.get("options") or {}),
    )


def saved_contexts(data: dict[str, Any] | None = None) -> dict[str, Context]:
    """Every context saved in the config, by name."""
    data = config.config_file().read() if data is None else data
    entries = data.get("contexts") or {}
    if not isinstance(entries, dict):
        raise ConfigError(f"'contexts' in {config.config_file().path} must be a JSON object")
    return {name: _from_config(name, entry) for name, entry in entries.items()}


def save_context(context: Context, secrets: dict[str, Any], *, activate: bool = True) -> None:
    """Save ``context`` (replacing one of the same name) and its secrets; make it active.

    The secrets are written first, so a saved context never points at missing credentials.
    """
    if context.name == LOCAL:
        raise ValidationError("'local' is the name of this machine's backend; choose another name")
    # One lock covers both files: a config that cannot be read stops here, before any secret
    # is saved, and no other command changes either file in between.
    with config.config_file().update() as data:
        saved = Context(name=context.name, backend=context.backend, source="config")
        saved.save_credentials(secrets)
        contexts = data.get("contexts")
        if not isinstance(contexts, dict):
            contexts = data["contexts"] = {}
        contexts[context.name] = context.to_config()
        if activate:
            data["active"] = context.name


def local_context(source: str = "default") -> Context:
    return Context(name=LOCAL, backend=LOCAL, source=source)


def get_context(name: str) -> Context:
    """A saved context by name (``local`` always exists)."""
    contexts = saved_contexts()
    if name in contexts:
        return contexts[name]
    if name == LOCAL:
        return local_context()
    known = ", ".join([LOCAL, *contexts])
    raise NotFound(f"no context named '{name}' (known: {known})")


def adhoc_context(
    url: str, token: str | None, cert: str | None, *, backend: str | None, source: str
) -> Context:
    """A context made of a server ``url`` and a bearer ``token`` (or, with no token, an X.509
    ``cert`` file), saved nowhere: from ``CANFAR_URL`` (``source="environment"``) or from a
    ``Session(url=..., token=...)`` (``source="argument"``)."""
    return Context(
        name=ENV_CONTEXT if source == ENV_CONTEXT else "adhoc",
        backend=backend or "canfar",
        url=url,
        auth="token" if token else "x509",
        options={} if token else {"cert": cert},
        source=source,
        env_secrets={"token": token} if token else {},
    )


def active_context(
    environ: Mapping[str, str] | None = None, *, backend: str | None = None
) -> Context:
    """The context commands use when none is named; see the module docstring for the rules.

    ``backend``: one the caller chose for this call (``--backend``, ``defaults.backend``); a
    ``CANFAR_TOKEN`` with no URL is then not an error when the context found is local, since it
    is replaced, and with ``local`` no plugin is asked for a default context (the public
    client's login file is never read)."""
    env = os.environ if environ is None else environ
    forced = env.get("CANFAR_BACKEND", "").strip()
    if forced == LOCAL:
        return local_context(source="environment")
    url, token = env.get("CANFAR_URL", "").strip(), env.get("CANFAR_TOKEN", "").strip()
    cert = env.get("CANFAR_CERTIFICATE", "").strip()
    if url:
        if not token and not cert:
            raise ConfigError("CANFAR_URL is set but CANFAR_TOKEN is not; set both, or neither")
        return adhoc_context(url, token, cert, backend=forced, source=ENV_CONTEXT)
    named = env.get("CANFAR_CONTEXT", "").strip()
    data = config.config_file().read()
    active = data.get("active")
    if active is not None and not isinstance(active, str):
        raise ConfigError(
            f"'active' in {config.config_file().path} must be a context name, not "
            f"{json.dumps(active)}; choose one with: canfar auth switch NAME"
        )
    context = None
    if named:
        context = get_context(named)
    elif active:
        contexts = saved_contexts(data)
        if active not in contexts and active != LOCAL:
            raise ConfigError(
                f"the active context '{active}' is not defined in {config.config_file().path}; "
                "run: canfar auth switch NAME"
            )
        context = contexts.get(active) or (local_context() if active == LOCAL else None)
    if context is None and backend == LOCAL:
        context = local_context()  # chosen for this call: nothing else is asked or read
    if context is None:
        from canfar_core.manager import get_manager

        context = get_manager().hook.canfar_default_context() or local_context()
    if forced and forced != context.backend:
        context = Context(name=forced, backend=forced, source="environment")
    if token and context.backend == LOCAL and not backend:
        # A script whose URL secret is missing would otherwise run its job on this machine.
        raise ConfigError(
            "CANFAR_TOKEN is set but CANFAR_URL is not, and no remote context is chosen; "
            "set CANFAR_URL too (or unset CANFAR_TOKEN to run on this machine)"
        )
    if token:
        context.env_secrets["token"] = token
    return context
