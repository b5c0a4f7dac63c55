"""Reading the login of the platform's public ``canfar`` client (1.5) and importing it.

That client keeps its login in ``~/.canfar/config.yaml``: the active identity provider (an
X.509 proxy certificate, or OIDC tokens) and the active server. When no context is chosen here
(nothing saved as active, nothing in the environment), the plugin's ``canfar_default_context``
reads it:

- no such file: the local backend, as always;
- a login that can be used here: it is imported as a saved context (secrets in the credentials
  file, mode 0600, written atomically), made active, and announced on stderr;
- a file that exists but holds no usable login: a :class:`ConfigError` that names what was
  found and the command that fixes it.

Choosing the local backend deliberately (``canfar auth switch local``, ``CANFAR_BACKEND=local``)
never reads the file.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canfar_core import config
from canfar_core.contexts import LOCAL, Context, save_context, saved_contexts
from canfar_core.errors import ConfigError

#: Where the public client keeps its configuration, under the home folder.
PUBLIC_CONFIG = Path(".canfar") / "config.yaml"
_DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


@dataclass
class PublicLogin:
    """The active login of the public client, as far as this project can use it."""

    path: Path
    idp: str
    mode: str
    server: str
    url: str
    #: How the context is saved here: its auth provider, options and secrets.
    auth: str = "token"
    options: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        return f"{self.idp} ({self.mode}) on {self.server} {self.url}"


def public_config_path(home: Path | None = None) -> Path:
    """``~/.canfar/config.yaml`` of ``home`` (the user's home folder by default)."""
    return (home or Path.home()) / PUBLIC_CONFIG


def _shown(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text


def _unusable(path: Path, found: str, fix: str) -> ConfigError:
    return ConfigError(
        f"found a login of the public canfar client in {_shown(path)} ({found}) that cannot "
        f"be used here; run: {fix} (or, to run on this machine: canfar auth switch local)"
    )


def read_public_login(home: Path | None = None) -> PublicLogin | None:
    """The public client's active login, or ``None`` when it has no config file.

    Raises :class:`ConfigError` when the file is there but no usable login can be read from it.
    """
    path = public_config_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unusable(path, f"unreadable: {exc.strerror}", "canfar auth login") from None
    import yaml  # here: only a user of the public client pays for it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise _unusable(path, "not valid YAML", "canfar auth login") from None
    if not isinstance(data, dict):
        raise _unusable(path, "no login in it", "canfar auth login")
    return _login_from(path, data)


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _login_from(path: Path, data: dict[str, Any]) -> PublicLogin:
    active = _section(data, "active")
    idp = str(active.get("authentication") or "")
    server_name = str(active.get("server") or "")
    server = _section(_section(data, "servers"), server_name)
    url = str(server.get("url") or "").strip().rstrip("/")
    record = _section(_section(data, "authentication"), idp)
    mode = str(record.get("mode") or "")
    if not url:
        found = f"login {idp or 'none'}, no server selected"
        raise _unusable(path, found, "canfar auth login")
    login = PublicLogin(path=path, idp=idp, mode=mode, server=server_name, url=url)
    if mode == "x509":
        _certificate(login, record)
    elif mode == "oidc":
        _tokens(login, record)
    else:
        found = f"login '{idp}' of unknown kind '{mode}'"
        raise _unusable(path, found, f"canfar auth login --url {url}")
    return login


def _certificate(login: PublicLogin, record: dict[str, Any]) -> None:
    cert = Path(str(record.get("path") or Path.home() / ".ssl" / "cadcproxy.pem")).expanduser()
    if not cert.is_file():
        fix = f"canfar auth login --url {login.url} --auth x509"
        raise _unusable(login.path, f"{login.describe()}, certificate {cert} is missing", fix)
    login.auth = "x509"
    login.options = {"cert": str(cert)}


def _secret(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _tokens(login: PublicLogin, record: dict[str, Any]) -> None:
    token = _section(record, "token")
    client = _section(record, "client")
    endpoints = _section(record, "endpoints")
    expiry = _section(record, "expiry")
    access, refresh = _secret(token.get("access")), _secret(token.get("refresh"))
    expires = expiry.get("access")
    fresh = isinstance(expires, (int, float)) and expires > time.time()
    discovery = _secret(endpoints.get("discovery")) or ""
    issuer = discovery[: -len(_DISCOVERY_SUFFIX)] if discovery.endswith(_DISCOVERY_SUFFIX) else ""
    refreshable = bool(refresh and issuer and _secret(client.get("identity")))
    if not (access and fresh) and not refreshable:
        fix = f"canfar auth login --url {login.url} --auth oidc"
        raise _unusable(login.path, f"{login.describe()}, its tokens have expired", fix)
    secrets: dict[str, Any] = {"access_token": access or ""}
    if isinstance(expires, (int, float)):
        secrets["expires_at"] = float(expires)
    if refreshable:
        secrets.update(issuer=issuer, client_id=_secret(client.get("identity")))
        secrets["refresh_token"] = refresh
        if _secret(endpoints.get("token")):
            secrets["token_endpoint"] = _secret(endpoints.get("token"))
        if _secret(client.get("secret")):
            secrets["client_secret"] = _secret(client.get("secret"))
    login.auth = "oidc"
    login.options = {"issuer": issuer} if issuer else {}
    login.secrets = secrets


def import_public_login(login: PublicLogin) -> Context:
    """Save ``login`` as a context here, make it active, and return it."""
    taken = saved_contexts()
    name = login.server if login.server and login.server != LOCAL else "public-login"
    existing = taken.get(name)
    if existing is not None and existing.url != login.url:
        name = f"{name}-public"
    context = Context(
        name=name, backend="canfar", url=login.url, auth=login.auth, options=login.options
    )
    save_context(context, login.secrets)
    sys.stderr.write(
        f"canfar: using the public canfar client's login from {_shown(login.path)}: "
        f"{login.describe()}, saved as context '{name}' (config in {config.config_dir()})\n"
    )
    return context


__all__ = [
    "PUBLIC_CONFIG",
    "PublicLogin",
    "import_public_login",
    "public_config_path",
    "read_public_login",
]
