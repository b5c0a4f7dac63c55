"""Logging in to CANFAR with a username and password, as ``cadc-get-cert`` does.

A CANFAR account is a username and a password; the platform takes a proxy certificate. The
CADC credential service (``ivo://cadc.nrc.ca/cred``, listed in the same registry as the
platform) turns one into the other: its capabilities document names the access URL of the
``ivo://ivoa.net/std/CDP#proxy-1.0`` capability secured by HTTP Basic, and a GET of that URL
with ``daysValid`` answers the PEM (certificate and key), saved with mode 0600.

The password is read from a hidden prompt or standard input and goes only into that one
request's ``Authorization`` header: it is never saved, printed, logged or put in an argument.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from canfar_core.errors import (
    AuthError,
    ConnectionFailed,
    ServerError,
    ValidationError,
    hide_url_passwords,
)
from canfar_plugins.auth.tokens import iso

if TYPE_CHECKING:
    from canfar_core.contexts import Context

log = logging.getLogger("canfar.auth")

CRED_URI = "ivo://cadc.nrc.ca/cred"
PROXY_STANDARD = "ivo://ivoa.net/std/CDP#proxy-1.0"
BASIC_AA = "ivo://ivoa.net/sso#BasicAA"
#: The CADC registry, asked when ``CANFAR_REGISTRY_URLS`` names none.
CADC_REGISTRY = "https://cadc-west-01.canfar.net/reg/resource-caps"
#: How long a certificate obtained here is valid (the credential service's usual maximum).
DAYS_VALID = 30
ACCOUNT_HINT = "no CANFAR account yet? request one at https://www.canfar.net"
_AUTH_WORDS = ("x509=", "oidc=", "token=")


@dataclass
class Obtained:
    """A certificate ready for an x509 login: where it is, whose it is, until when."""

    path: Path
    user: str | None
    expires: str | None
    fresh: bool


def registry_urls(environ: Mapping[str, str] | None = None) -> list[str]:
    """The registries the credential service is looked for in: those of
    ``CANFAR_REGISTRY_URLS`` (its ``AUTH=`` prefixes dropped), else the CADC registry."""
    env = os.environ if environ is None else environ
    raw = env.get("CANFAR_REGISTRY_URLS", "").strip()
    if not raw:
        return [CADC_REGISTRY]
    urls = []
    for item in (part.strip() for part in raw.split(",")):
        for word in _AUTH_WORDS:
            if item.startswith(word):
                item = item[len(word) :].strip()
        if item:
            urls.append(item)
    return urls


def _get(url: str, timeout: float, **kwargs: object) -> tuple[int, str]:
    """``(status, text)`` of a GET; :class:`ConnectionFailed` naming the URL when it fails."""
    import requests
    import requests.utils

    from canfar_plugins._support import redirects

    try:
        response = redirects.request("GET", url, timeout=(min(5.0, timeout), timeout), **kwargs)
    except requests.exceptions.ProxyError as exc:
        proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
        shown = hide_url_passwords(proxy) if proxy else "the proxy"
        raise ConnectionFailed(
            f"cannot connect to {shown}, the proxy for {url}: {_short(exc)}"
        ) from None
    except requests.RequestException as exc:
        raise ConnectionFailed(f"cannot reach {url}: {_short(exc)}") from None
    return response.status_code, response.content.decode("utf-8", "replace")


def _short(exc: BaseException) -> str:
    """A short reason for a transport error."""
    import requests

    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    for needle, reason in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("name resolution", "unknown host"),
        ("certificate verify failed", "certificate verify failed"),
    ):
        if needle in text.lower():
            return reason
    return text.strip().splitlines()[0][:120] if text.strip() else type(exc).__name__


def _listed(registry: str, timeout: float) -> str | None:
    """The capabilities URL the registry gives for the credential service, if it lists it."""
    status, text = _get(registry, timeout)
    if status != 200:
        raise ServerError(f"the registry {registry} answered {status}")
    for line in text.splitlines():
        uri, sep, url = line.partition("=")
        if sep and not line.lstrip().startswith("#") and uri.strip() == CRED_URI:
            return url.strip()
    return None


def proxy_access_url(capabilities_xml: str) -> str | None:
    """The access URL of the proxy-certificate capability secured by HTTP Basic."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(capabilities_xml)
    except ElementTree.ParseError:
        return None
    for capability in root.iter():
        if not capability.tag.endswith("capability"):
            continue
        if capability.get("standardID") != PROXY_STANDARD:
            continue
        for interface in capability:
            if not interface.tag.endswith("interface"):
                continue
            methods = {m.get("standardID") for m in interface if m.tag.endswith("securityMethod")}
            access = next((c for c in interface if c.tag.endswith("accessURL")), None)
            if BASIC_AA in methods and access is not None and access.text:
                return access.text.strip()
    return None


class NotListed(ValidationError):
    """The registries in use list no credential service."""


def find_credential_service(timeout: float = 10.0) -> str:
    """The URL to GET a proxy certificate from, found through the registries in use."""
    registries = registry_urls()
    failures: list[ServerError] = []
    for registry in registries:
        try:
            caps_url = _listed(registry, timeout)
        except (ConnectionFailed, ServerError) as exc:
            failures.append(exc)
            continue
        if caps_url is None:
            continue
        status, xml = _get(caps_url, timeout, headers={"Accept": "application/xml"})
        if status != 200:
            raise ServerError(
                f"the CADC credential service ({caps_url}) answered {status}; "
                "try again later, or log in with a certificate: canfar auth login --cert PEM"
            )
        url = proxy_access_url(xml)
        if url is None:
            raise ServerError(
                f"the CADC credential service ({caps_url}) offers no password login "
                f"({PROXY_STANDARD} with {BASIC_AA}); log in with a certificate: "
                "canfar auth login --cert PEM"
            )
        return url
    if failures and len(failures) == len(registries):
        raise type(failures[0])(
            f"cannot find the CADC credential service: {failures[0]}; check the network, "
            "or log in with a certificate: canfar auth login --cert PEM"
        )
    listed = ", ".join(registries)
    raise NotListed(
        f"the registry ({listed}) lists no CADC credential service ({CRED_URI}), so no "
        "password login there; log in with a certificate (canfar auth login --cert PEM) "
        "or a token (canfar auth login --url URL --token-stdin)"
    )


def fetch_certificate(url: str, username: str, password: str, timeout: float = 30.0) -> str:
    """The PEM the credential service answers for this account, valid :data:`DAYS_VALID` days."""
    status, text = _get(
        url, timeout, params={"daysValid": str(DAYS_VALID)}, auth=(username, password)
    )
    if status in (401, 403):
        raise AuthError(
            f"the CADC credential service refused the username '{username}' with that "
            "password (nothing was saved); check both and try again: canfar auth login -f"
        )
    if status != 200:
        raise ServerError(
            f"the CADC credential service ({url}) answered {status}; try again later, "
            "or log in with a certificate: canfar auth login --cert PEM"
        )
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ServerError(f"the CADC credential service ({url}) sent no certificate")
    return text


def save_certificate(path: Path, pem: str) -> None:
    """Replace the certificate file atomically, readable by its owner only."""
    from canfar_core.config import atomic_write, private_dir

    private_dir(path.parent)
    atomic_write(path, pem if pem.endswith("\n") else pem + "\n", mode=0o600)
    os.chmod(path, 0o600)  # a file the user had left readable by others is made private


def _current(path: Path) -> tuple[str | None, datetime | None, bool]:
    """``(subject, expiry, valid)`` of the certificate at ``path``; ``(None, None, False)``
    when there is none to read."""
    from canfar_plugins.auth.x509 import read_certificate

    try:
        info = read_certificate(path)
    except AuthError:
        return None, None, False
    valid = info.expires is None or info.expires > datetime.now(timezone.utc)
    return info.subject, info.expires, valid


def obtain(
    context: Context,
    path: Path,
    *,
    force: bool,
    username: str | None,
    password_stdin: bool,
    interactive: bool,
    echo: Callable[[str], None],
) -> Obtained:
    """A valid certificate at ``path``: the one there (unless ``force`` or a password is
    given on standard input), else a new one from the credential service."""
    subject, expires, valid = _current(path)
    if valid and expires is not None and not force and not password_stdin:
        echo(f"Using the certificate {path}, valid until {iso(expires)} (-f gets a new one).")
        return Obtained(path, subject, iso(expires), fresh=False)
    if expires is not None and not valid:
        echo(f"The certificate {path} expired on {iso(expires)}: log in to get a new one.")
    if not password_stdin and not interactive:
        raise ValidationError(
            "no terminal to ask for your CANFAR password on; pipe it in: "
            "canfar auth login cadc --username NAME --password-stdin "
            "(or give a certificate: --cert PEM)"
        )
    url = find_credential_service()
    default_user = context.options.get("username") or subject
    if username is None and password_stdin:
        raise ValidationError("--password-stdin needs --username NAME")
    if username is None:
        import click

        echo(f"Log in with your CANFAR account ({ACCOUNT_HINT}).")
        username = str(click.prompt("Username", default=default_user or None, err=True)).strip()
    password = _read_password(password_stdin)
    log.info("asking %s for a %d-day certificate for %s", url, DAYS_VALID, username)
    pem = fetch_certificate(url, username, password)
    del password
    save_certificate(path, pem)
    subject, expires, _ = _current(path)
    context.options["username"] = username
    return Obtained(path, subject or username, iso(expires) if expires else None, fresh=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ValidationError("no password on standard input; nothing was saved")
        return line
    import getpass

    # getpass turns echo off before it writes the prompt, so nothing typed once the prompt shows
    # is echoed or flushed away (some click versions write the prompt before hiding input).
    try:
        answer = getpass.getpass("Password: ")
    except EOFError:
        answer = ""
    if not answer:
        raise ValidationError("no password given; nothing was saved")
    return answer
