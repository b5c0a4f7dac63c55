"""``canfar auth``: log in to servers, see who you are, choose where sessions run.

Imported at start-up (for ``canfar --help``): only click and the core here; the HTTP stack
loads inside the commands that talk to a server.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from canfar_core.errors import (
    AuthError,
    CanfarError,
    NotFound,
    ValidationError,
    hide_url_passwords,
)
from canfar_plugins._support.machine import output_option

if TYPE_CHECKING:
    from canfar_core.contexts import Context
    from canfar_core.models import AuthStatus, Server


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _check_url(url: str) -> str:
    """A service URL as it is saved: scheme and host required, no trailing slash."""
    text = url.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:  # "http://[::1": an unclosed address
        raise ValidationError(f"'{url}' is not a server URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValidationError(
            f"'{url}' is not a server URL; give the service root, "
            "for example https://ws-uv.canfar.net/skaha"
        )
    return text


def _name_for(url: str) -> str:
    """A context name from a URL's host (and port): ``ws-uv-canfar-net``."""
    parts = urlsplit(url)
    name = (parts.hostname or "server").replace(".", "-")
    return f"{name}-{parts.port}" if parts.port else name


def _looks_like_url(text: str) -> bool:
    return bool(re.match(r"^https?://", text))


def _discover() -> list[Server]:
    """Servers from every ``canfar_discover_servers`` implementation, without duplicates."""
    from canfar_core.manager import get_manager
    from canfar_core.models import Server

    found: list[Server] = []
    seen: set[str] = set()
    for result in get_manager().hook.canfar_discover_servers():
        for server in result if isinstance(result, list) else [result]:
            if isinstance(server, Server) and server.url.rstrip("/") not in seen:
                seen.add(server.url.rstrip("/"))
                found.append(server)
    return found


class ServerChoice(click.ParamType):
    """The answer to "Log in to": a number from the list, or a server URL typed instead."""

    name = "server"

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Server | str:
        text = str(value).strip()
        if _looks_like_url(text):
            try:
                return _check_url(text)
            except ValidationError as exc:
                self.fail(str(exc), param, ctx)
        if text.isdigit() and 1 <= int(text) <= len(self.servers):
            return self.servers[int(text) - 1]
        self.fail(
            f"{text!r} is neither a number from 1 to {len(self.servers)} nor a server URL "
            "(https://...)",
            param,
            ctx,
        )


def _choose(servers: list[Server]) -> Server | str:
    """A server from the list, or the URL of another one, as typed at the prompt."""
    if not servers:
        raise NotFound("no server found; log in with: canfar auth login --url URL")
    _stderr("Servers:")
    for index, server in enumerate(servers, 1):
        _stderr(f"  {index:2}. {server.name:<12} {server.url}  ({server.auth})")
    _stderr("Type a number, or the URL of another server.")
    choice: Server | str = click.prompt(
        "Log in to", type=ServerChoice(servers), default="1", err=True
    )
    return choice


def _root_option(name: str) -> Any:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    obj = ctx.find_root().obj
    return obj.get(name) if isinstance(obj, dict) else None


def _target(
    server: str | None, url: str | None, name: str | None, auth_mode: str | None, interactive: bool
) -> tuple[Context, str | None]:
    """The context to log in to, and the OIDC issuer the server names (if any)."""
    from canfar_core.contexts import Context, saved_contexts

    if url is None and server and _looks_like_url(server):
        url, server = server, None
    if url is not None:
        clean = _check_url(url)
        return Context(
            name=name or _name_for(clean), backend="canfar", url=clean, auth=auth_mode or "token"
        ), None
    saved = saved_contexts()
    if server is None:
        active = _active_server_context(saved)
        if active is not None:
            server = active.name
    if server and server in saved and saved[server].backend != "local":
        context = saved[server]
        if name and name != context.name:
            context = Context(
                name=name,
                backend=context.backend,
                url=context.url,
                auth=context.auth,
                options=dict(context.options),
            )
        if auth_mode:
            context.auth = auth_mode
        return context, None
    if server is None and not interactive:
        raise ValidationError(
            "name a server, or log in without prompts: canfar auth login --url URL --token-stdin"
        )
    from canfar_plugins._support.public_client import IDP_AUTH

    servers = _discover()
    if server is None:
        picked = _choose(servers)
    elif server.lower() in IDP_AUTH and not any(s.name.lower() == server.lower() for s in servers):
        offered = [s for s in servers if s.auth == IDP_AUTH[server.lower()]]
        if server.lower() == "cadc":
            offered = [s for s in offered if s.name == "canfar"] or offered
        if len(offered) > 1 and not interactive:
            names = ", ".join(s.name for s in offered)
            raise ValidationError(f"{server} offers several servers ({names}): name one")
        picked = offered[0] if len(offered) == 1 else _choose(offered)
    else:
        picked = None
    if isinstance(picked, str):  # a URL typed at the prompt
        return Context(
            name=name or _name_for(picked),
            backend="canfar",
            url=picked,
            auth=auth_mode or "token",
        ), None
    if picked is not None:
        chosen = picked
    else:
        wanted = (server or "").lower()
        matches = [s for s in servers if s.name.lower() == wanted]
        if not matches:
            known = ", ".join(s.name for s in servers) or "none found"
            raise NotFound(f"no server named '{server}' (known: {known})")
        chosen = matches[0]
    context = Context(
        name=name or chosen.name,
        backend="canfar",
        url=_check_url(chosen.url),
        auth=auth_mode or chosen.auth,
    )
    return context, getattr(chosen, "issuer", None)


def _active_server_context(saved: dict[str, Context]) -> Context | None:
    """The active saved context when it is a platform server's (not this machine, not a
    backend that logs in otherwise)."""
    from canfar_core.contexts import active_context

    try:
        active = active_context()
    except CanfarError:
        return None
    if active.source != "config" or active.backend != "canfar" or active.name not in saved:
        return None
    return active


@contextlib.contextmanager
def _discovery_settings(dev: bool, timeout: int | None) -> Iterator[None]:
    """``--dev`` and ``--timeout`` for the registry look-up, as the discovery reads them."""
    import os

    wanted = {"CANFAR_DEV": "1" if dev else None, "CANFAR_DISCOVERY_TIMEOUT": timeout}
    before = {key: os.environ.get(key) for key in wanted}
    for key, value in wanted.items():
        if value is not None:
            os.environ[key] = str(value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _is_saved(context: Context) -> bool:
    """Whether ``context`` is a saved one (not a server just found in the registries)."""
    from canfar_plugins.auth.store import saved_names

    return context.source == "config" and context.name in saved_names()


def _already_logged_in(context: Context) -> str | None:
    """Who the saved credentials of ``context`` belong to, when they are still valid offline."""
    from canfar_core.auth import get_provider

    try:
        result = get_provider(context.auth or "token").status(context, context.credentials())
    except CanfarError:
        return None
    return (result.user or "unknown user") if result.valid else None


def _verify(context: Context, secrets: dict[str, Any]) -> str | None:
    """Ask the server who the new credentials belong to; nothing is saved when it refuses."""
    from canfar_core.contexts import Context
    from canfar_core.manager import get_manager

    probe = Context(
        name=context.name,
        backend=context.backend,
        url=context.url,
        auth=context.auth,
        options=dict(context.options),
        source="login",
        env_secrets={k: v for k, v in secrets.items() if isinstance(v, str)},
    )
    backend = get_manager().registry("backends").get(probe.backend)(probe)
    whoami = getattr(backend, "whoami", None)
    if whoami is None:
        return None
    try:
        user: str | None = whoami()
        return user
    except CanfarError as exc:
        exc.message = f"login failed, nothing was saved: {exc.message}"
        raise


@click.group(invoke_without_command=True)
@click.option(
    "-o",
    "--output",
    type=click.Choice(("json", "yaml"), case_sensitive=False),
    help="Alone (canfar auth -o json): the same as auth status -o json.",
)
@click.pass_context
def auth(ctx: click.Context, output: str | None) -> None:
    """Log in to CANFAR servers and choose where sessions run.

    Alone, `canfar auth` is `canfar auth status` (also: auth show).
    """
    if ctx.invoked_subcommand is None:
        if output:
            from canfar_plugins._support.machine import set_format

            set_format(output)
        ctx.invoke(status, name=None, output=output.lower() if output else None)


@auth.command()
@click.argument("server", required=False)
@click.option(
    "--url",
    metavar="URL",
    help="Service root, e.g. https://ws-uv.canfar.net/skaha (the client adds /v1).",
)
@click.option("--token-stdin", is_flag=True, help="Read a bearer token from standard input.")
@click.option("--name", metavar="NAME", help="Save the context under this name.")
@click.option(
    "--auth",
    "auth_mode",
    metavar="MODE",
    help="How to authenticate: token, x509, oidc (default: what the server uses).",
)
@click.option("--cert", metavar="PEM", help="Proxy certificate for x509 (~/.ssl/cadcproxy.pem).")
@click.option("--username", metavar="NAME", help="Your CANFAR username, for a password login.")
@click.option(
    "--password-stdin", is_flag=True, help="Read your CANFAR password from standard input."
)
@click.option("--issuer", metavar="URL", help="OIDC issuer, for oidc.")
@click.option("--client-id", metavar="ID", help="A registered OIDC client to use, for oidc.")
@click.option("--no-verify", is_flag=True, help="Save without asking the server first.")
@click.option(
    "-f", "--force", is_flag=True, help="Log in afresh even when the saved login is still valid."
)
@click.option("--dev", is_flag=True, help="Also offer the registries' development servers.")
@click.option(
    "-t",
    "--timeout",
    type=click.IntRange(1, 300),
    metavar="SECONDS",
    help="Time allowed for each request while finding servers (default 5).",
)
@click.option(
    "--backend",
    "backend_name",
    metavar="NAME",
    help="Run sessions on an installed backend that uses your own account (slurm, ...).",
)
def login(
    server: str | None,
    url: str | None,
    token_stdin: bool,
    name: str | None,
    auth_mode: str | None,
    cert: str | None,
    username: str | None,
    password_stdin: bool,
    issuer: str | None,
    client_id: str | None,
    no_verify: bool,
    force: bool,
    dev: bool,
    timeout: int | None,
    backend_name: str | None,
) -> None:
    """Log in to a server and make it where sessions run. Also: canfar login [SERVER].

    SERVER is a saved context, a server found in the registries, or cadc / srcnet (their
    servers). Without SERVER: the active server, else a choice of those found. A login that
    is still valid is kept unless --force is given.

    \b
    canfar auth login                    the active server, or choose one
    canfar auth login -f                 a fresh login to the active server
    canfar auth login canfar             a known server or saved context, by name
    canfar login cadc                    CANFAR: your username and password
    canfar login cadc --username NAME --password-stdin < password-file
    echo "$TOKEN" | canfar auth login --url https://host/skaha --token-stdin
    canfar auth login --backend slurm    run sessions on a Slurm cluster, as yourself
    """
    from canfar_core.auth import get_provider

    if backend_name is not None and backend_name != "canfar":
        if server or url or token_stdin or auth_mode or cert or issuer or client_id or username:
            raise ValidationError(
                f"--backend {backend_name} takes no server or credentials: "
                "it runs sessions as the account canfar runs under"
            )
        _login_backend(backend_name, name, no_verify)
        return
    if auth_mode is None and cert:
        auth_mode = "x509"
    elif auth_mode is None and (issuer or client_id):
        auth_mode = "oidc"
    elif auth_mode is None and token_stdin:
        auth_mode = "token"
    elif auth_mode is None and (username or password_stdin) and (url or server):
        auth_mode = "x509"
    interactive = sys.stdin.isatty() and not token_stdin and not password_stdin
    with _discovery_settings(dev, timeout):
        context, server_issuer = _target(server, url, name, auth_mode, interactive)
    fresh_credentials = token_stdin or cert or issuer or client_id or url or password_stdin
    if not force and not fresh_credentials and _is_saved(context):
        user = _already_logged_in(context)
        if user is not None:
            _stderr(
                f"Already logged in to {context.url} as {user} (context '{context.name}'); "
                "add --force to log in again."
            )
            from canfar_plugins.auth.store import set_active

            set_active(context.name)
            return
    provider = get_provider(context.auth or "token")
    if token_stdin and context.auth != "token":
        raise ValidationError(f"--token-stdin is for token logins, not {context.auth}")
    if (password_stdin or username) and context.auth != "x509":
        raise ValidationError(
            f"--username and --password-stdin are for CANFAR password logins, not {context.auth}"
        )
    obtained = None
    options: dict[str, Any] = {}
    if context.auth == "token":
        if token_stdin:
            options["token"] = sys.stdin.read()
        else:
            options["token"] = click.prompt("Token", hide_input=True, err=True)
    elif context.auth == "x509":
        if cert is None:
            obtained = _password_login(context, force, username, password_stdin, interactive)
            cert = str(obtained.path)
        options["cert"] = cert
    elif context.auth == "oidc":
        options.update(issuer=issuer or server_issuer, client_id=client_id, echo=_stderr)
    secrets = provider.login(context, **options)
    user = None if no_verify else _verify(context, secrets)

    from canfar_plugins.auth.store import save_login

    moved_from = save_login(context, secrets)
    if obtained is not None:
        user = user or obtained.user
    who = f" as {user}" if user else ""
    shown = hide_url_passwords(context.url or "")
    _stderr(f"Logged in to {shown}{who}. Context '{context.name}' is active.")
    if obtained is not None and obtained.fresh:
        _stderr(
            f"Certificate saved to {obtained.path} (mode 0600), "
            f"valid until {obtained.expires or 'a date that could not be read'}."
        )
    _say_registry_dropped(context, moved_from)
    if _unprotected(context.url):
        from canfar_core.output import warn

        warn(
            f"{shown} is plain http: your credentials and sessions travel unencrypted "
            "(log in with its https URL if it has one)"
        )


def _password_login(
    context: Context, force: bool, username: str | None, password_stdin: bool, interactive: bool
) -> Any:
    """A certificate for an x509 login: the valid one already saved, else one obtained from
    the CADC credential service with the user's CANFAR username and password."""
    from pathlib import Path

    from canfar_plugins.auth.password import obtain
    from canfar_plugins.auth.x509 import DEFAULT_CERT

    path = Path(str(context.options.get("cert") or DEFAULT_CERT)).expanduser()
    return obtain(
        context,
        path,
        force=force,
        username=username,
        password_stdin=password_stdin,
        interactive=interactive,
        echo=_stderr,
    )


def _unprotected(url: str | None) -> bool:
    """Whether ``url`` is plain http to another machine (loopback traffic stays here)."""
    import ipaddress

    parts = urlsplit(url or "")
    if parts.scheme != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _login_backend(backend: str, name: str | None, no_verify: bool) -> None:
    """Save and activate a context for a backend with no server and no credentials."""
    from canfar_core.contexts import LOCAL, Context
    from canfar_core.manager import get_manager

    if backend == LOCAL:
        raise ValidationError("the local backend needs no login: canfar auth switch local")
    factory = get_manager().registry("backends").get(backend)  # unknown: names the known ones
    context = Context(name=name or backend, backend=backend)
    user = None
    if not no_verify:
        whoami = getattr(factory(context), "whoami", None)
        if whoami is not None:
            try:
                user = whoami()
            except CanfarError as exc:
                exc.message = f"login failed, nothing was saved: {exc.message}"
                raise

    from canfar_plugins.auth.store import save_login

    moved_from = save_login(context, {})
    who = f" as {user}" if user else ""
    _stderr(f"Sessions run on the {backend} backend{who}. Context '{context.name}' is active.")
    _say_registry_dropped(context, moved_from)


def _say_registry_dropped(context: Context, moved_from: str | None) -> None:
    """One line when a login moved a context to another server and its registry login went."""
    if moved_from is None:
        return
    where = hide_url_passwords(context.url or f"the {context.backend} backend")
    _stderr(
        f"Dropped the registry login of context '{context.name}': it was saved for "
        f"{hide_url_passwords(moved_from)}, not {where} (set it again: canfar auth registry "
        "set USERNAME)."
    )


def _describe_backend(context: Context) -> AuthStatus:
    """A context with no server: the backend says who sessions run as."""
    from canfar_core.manager import get_manager
    from canfar_core.models import AuthStatus

    status = AuthStatus(
        context=context.name,
        server=f"{context.backend} backend",
        auth="none",
        detail=f"sessions run on the {context.backend} backend as your own account",
    )
    try:
        backend = get_manager().registry("backends").get(context.backend)(context)
        whoami = getattr(backend, "whoami", None)
        status.user = whoami() if whoami is not None else None
    except CanfarError as exc:
        status.valid = False
        status.detail = str(exc)
    return status


def _describe(context: Context) -> AuthStatus:
    """The offline status of a context, checked with its server when reachable."""
    from canfar_core.auth import get_provider
    from canfar_core.errors import ConnectionFailed, ServerError
    from canfar_core.manager import get_manager
    from canfar_core.models import AuthStatus

    if context.backend == "local":
        return AuthStatus(
            context=context.name,
            server="this machine",
            auth="none",
            detail="sessions run on this machine; log in with: canfar auth login",
        )
    if context.url is None and context.auth is None:
        return _describe_backend(context)
    provider = get_provider(context.auth or "token")
    status = provider.status(context, context.credentials())
    if not status.valid:
        return status
    try:
        backend = get_manager().registry("backends").get(context.backend)(context)
        whoami = getattr(backend, "whoami", None)
        user = whoami() if whoami is not None else None
    except AuthError as exc:
        status.valid = False
        status.detail = str(exc)
    except (ConnectionFailed, ServerError) as exc:
        status.detail = f"not checked with the server: {exc}"
    else:
        status.user = user or status.user
    return status


def auth_record(context: Context, active: bool, status: AuthStatus | None = None) -> dict[str, Any]:
    """A context as ``auth show -o json`` / ``auth ls -o json`` print it: the public client's
    keys (``idp``, ``name``, ``mode``, ``expiry``, ``active``, ``server``) first, then ours."""
    record: dict[str, Any] = {
        "idp": context.name,
        "name": context.name,
        "mode": context.auth or "none",
        "expiry": status.expires if status is not None else None,
        "active": active,
        "server": context.name,
        "url": hide_url_passwords(context.url) if context.url else None,
        "context": context.name,
        "backend": context.backend,
        "auth": context.auth or "",
        "source": context.source,
    }
    if status is not None:
        record.update(
            user=status.user,
            expires=status.expires,
            valid=status.valid,
            detail=status.detail or None,
        )
    return record


@auth.command(short_help="Who you are, on which server, and until when. Also: auth show.")
@click.argument("name", required=False)
@output_option
@click.pass_context
def status(ctx: click.Context, name: str | None, output: str | None) -> None:
    """Who you are, on which server, and until when (exit 1 when not valid).
    Also: canfar auth show, canfar auth."""
    from canfar_core.contexts import active_context, get_context
    from canfar_core.output import echo
    from canfar_plugins._support.machine import emit

    name = name or _root_option("context")
    context = get_context(name) if name else active_context()
    result = _describe(context)
    if output:
        emit(auth_record(context, True, result), output)
    else:
        rows = [
            (
                "context",
                f"{context.name} ({context.source})"
                if context.source != "config"
                else context.name,
            ),
            ("server", hide_url_passwords(result.server)),
            ("auth", result.auth),
            ("user", result.user or "unknown"),
            ("expires", result.expires or "unknown"),
            ("state", "valid" if result.valid else "not valid"),
        ]
        if result.detail:
            rows.append(("detail", result.detail))
        for key, value in rows:
            echo(f"{key:<8} {value}")
    if not result.valid:
        ctx.exit(1)


def context_rows() -> list[tuple[Context, bool]]:
    """Every context a command could use (the environment's, the saved ones, this machine),
    and whether it is the active one."""
    from canfar_core.contexts import LOCAL, active_context, local_context, saved_contexts

    contexts = saved_contexts()
    try:
        active: Context | None = active_context()
    except CanfarError:
        active = None
    rows: list[tuple[Context, bool]] = []
    if active is not None and active.source == "environment":
        rows.append((active, True))
    for context in contexts.values():
        rows.append(
            (
                context,
                active is not None and active.source == "config" and active.name == context.name,
            )
        )
    if LOCAL not in contexts:
        rows.append(
            (
                local_context(),
                active is not None and active.backend == LOCAL and active.source != "environment",
            )
        )
    return rows


@auth.command("list", short_help="The saved contexts; the active one is marked. Also: auth ls.")
@output_option
def list_contexts(output: str | None) -> None:
    """The saved contexts; the active one is marked with *. Also: canfar auth ls."""
    from canfar_core.output import table
    from canfar_plugins._support.machine import emit

    rows = context_rows()
    if output:
        emit([auth_record(context, active) for context, active in rows], output)
        return
    table(
        [
            (
                "*" if active else "",
                c.name,
                c.backend,
                hide_url_passwords(c.url or "") or ("this machine" if c.backend == "local" else ""),
                c.auth or "",
            )
            for c, active in rows
        ],
        headers=["", "NAME", "BACKEND", "SERVER", "AUTH"],
    )


@auth.command(short_help="Make a saved context the one commands use. Also: auth use.")
@click.argument("name")
def switch(name: str) -> None:
    """Make a saved context (or local) the one commands use. Also: canfar auth use NAME,
    canfar server use NAME."""
    import os

    from canfar_core.output import warn
    from canfar_plugins.auth.store import broken_contexts, set_active

    context = set_active(name)
    where = hide_url_passwords(context.url or "") or "this machine"
    _stderr(f"Active context: {name} ({where}).")
    for reason in broken_contexts().values():
        warn(reason)
    if os.environ.get("CANFAR_URL") or os.environ.get("CANFAR_BACKEND"):
        _stderr("Note: CANFAR_URL / CANFAR_BACKEND are set and take precedence in this shell.")


@auth.command(short_help="Forget a context and its credentials. Also: auth rm, auth purge.")
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Log out of every saved context.")
def logout(name: str | None, everything: bool) -> None:
    """Forget a context and its credentials (the active one by default).
    Also: canfar auth rm NAME [-f], canfar auth purge --force (= --all)."""
    from canfar_plugins.auth.store import active_name, saved_names

    if everything:
        names = saved_names()  # broken entries too: logging out is how they are removed
    else:
        chosen = name or _root_option("context") or active_name()
        if not chosen:
            raise NotFound("not logged in to any server (sessions run on this machine)")
        names = [chosen]
    forget(names)


def forget(names: list[str]) -> None:
    """Remove these contexts and their credentials, saying what went."""
    from canfar_plugins.auth.store import active_name, remove_context

    for each in names:
        removed = remove_context(each)
        _stderr(f"Logged out of {each} ({removed.url or removed.backend}); credentials removed.")
    if active_name() is None:
        _stderr("Sessions now run on this machine until you log in again.")


@auth.group(short_help="Save, show or clear your registry login, for private images.")
def registry() -> None:
    """Your container-registry login, to launch private images (one per context).

    The platform pulls an image that is not in its public cache with this login; it is sent
    with session launches only, and kept in the credentials file (mode 0600), never in the
    configuration and never printed.
    """


def _registry_context() -> Context:
    """The saved context a registry command is for: ``--context``, else the active one."""
    from canfar_core.contexts import LOCAL, active_context, get_context

    name = _root_option("context")
    context = get_context(name) if name else active_context()
    if context.backend == LOCAL:
        raise ValidationError(
            "sessions run on this machine (the local context), which needs no registry login "
            "here; log in to a server first (canfar auth login), or name one with --context"
        )
    if context.source != "config":
        raise ValidationError(
            f"the context '{context.name}' comes from the environment (CANFAR_URL) and is not "
            "saved; log in with canfar auth login, then set the registry login"
        )
    return context


def _read_secret(username: str, from_stdin: bool) -> str:
    """The secret from standard input, or from a hidden prompt on a terminal."""
    if from_stdin:
        secret = sys.stdin.read().strip()
        if not secret:
            raise ValidationError("no secret on standard input; nothing was saved")
        return secret
    if not sys.stdin.isatty():
        raise ValidationError(
            "no terminal to ask for the secret on; pipe it in with --secret-stdin"
        )
    answer = click.prompt(f"Registry secret for {username}", hide_input=True, err=True)
    return str(answer).strip()


@registry.command("set", short_help="Save the registry login of this context.")
@click.argument("username")
@click.option(
    "--secret-stdin", is_flag=True, help="Read the secret from standard input (one line)."
)
def registry_set(username: str, secret_stdin: bool) -> None:
    """Save the registry login (USERNAME and a secret) the platform pulls private images with.

    The secret (a password or a registry CLI secret) is asked for without echo, or read from
    standard input with --secret-stdin; it is never taken as an argument.

    \b
      canfar auth registry set jdoe
      pass show harbor | canfar auth registry set jdoe --secret-stdin
      canfar --context other auth registry set jdoe
    """
    from canfar_plugins.auth.store import check_registry_login, save_registry_login

    context = _registry_context()
    check_registry_login(username)  # before asking for a secret
    save_registry_login(context, username, _read_secret(username, secret_stdin))
    _stderr(
        f"Registry login for {username} saved for context '{context.name}'; "
        "it is sent when a session is launched."
    )


@registry.command("show", short_help="Show the registry username (never the secret).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def registry_show(as_json: bool) -> None:
    """The saved registry username, and whether a secret is stored (never the secret)."""
    from canfar_core.output import echo, emit_json
    from canfar_plugins.auth.store import registry_login

    context = _registry_context()
    login = registry_login(context) or {}
    username = login.get("username") if isinstance(login.get("username"), str) else None
    stored = bool(login.get("secret"))
    server = login.get("server") if isinstance(login.get("server"), str) else None
    if as_json:
        emit_json(
            {
                "context": context.name,
                "username": username,
                "secret_stored": stored,
                "server": server,
            }
        )
        return
    if username is None and not stored:
        _stderr(
            f"No registry login saved for context '{context.name}' "
            "(save one: canfar auth registry set USERNAME)."
        )
        return
    echo(f"{'context':<9} {context.name}")
    echo(f"{'username':<9} {username or 'none'}")
    echo(f"{'secret':<9} {'stored' if stored else 'none'}")
    if server:
        echo(f"{'server':<9} {hide_url_passwords(server)}")


@registry.command("clear")
def registry_clear() -> None:
    """Forget the registry login saved for the context."""
    from canfar_plugins.auth.store import clear_registry_login

    context = _registry_context()
    if clear_registry_login(context):
        _stderr(f"Registry login removed from context '{context.name}'.")
    else:
        _stderr(f"No registry login was saved for context '{context.name}'.")
