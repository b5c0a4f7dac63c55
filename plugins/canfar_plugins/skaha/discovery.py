"""Find Skaha services in IVOA registries, for ``canfar auth login``.

Each identity provider publishes a registry "resource-caps" file: lines
``ivo://authority/path = https://host/path/capabilities``. Records whose URI ends in ``/skaha``
are services; each one's VOSI capabilities document says where its session API lives (a base
``accessURL`` ending ``/vN/session``) and which credentials it takes.

``CANFAR_REGISTRY_URLS`` replaces the built-in registries: a comma-separated list of
``[AUTH=]URL``, where ``AUTH`` (``x509``, ``oidc``, ``token``) says how to log in to the
services it lists; without it the auth mode is read from the capabilities.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from canfar_core.models import Server

log = logging.getLogger("canfar.discovery")

REGISTRY_VARIABLE = "CANFAR_REGISTRY_URLS"
SRCNET_ISSUER = "https://ska-iam.stfc.ac.uk/"
_AUTHS = ("x509", "oidc", "token")
_DEV = ("dev", "development", "test", "demo", "stage", "staging", "rc-", "preprod")
_SESSION_STANDARD = "http://www.opencadc.org/std/platform#session-"
_LEGACY_STANDARD = "vos://cadc.nrc.ca~vospace/CADC/std/Proc#sessions-1.0"
_SECURITY = {
    "ivo://ivoa.net/sso#tls-with-certificate": "x509",
    "ivo://ivoa.net/sso#token": "token",
}

#: Names of the services known today, by registry URI.
KNOWN_NAMES = {
    "ivo://cadc.nrc.ca/skaha": "canfar",
    "ivo://canfar.net/src/skaha": "canSRC",
    "ivo://swesrc.chalmers.se/skaha": "sweSRC",
    "ivo://canfar.cam.uksrc.org/skaha": "ukCAM",
    "ivo://canfar.ral.uksrc.org/skaha": "ukRAL",
    "ivo://src.skach.org/skaha": "chSRC",
    "ivo://espsrc.iaa.csic.es/skaha": "espSRC",
    "ivo://canfar.itsrc.oact.inaf.it/skaha": "itaINAF",
    "ivo://shion-sp.mtk.nao.ac.jp/skaha": "jpSRC",
    "ivo://canfar.krsrc.kr/skaha": "krSRC",
    "ivo://canfar.ska.zverse.space/skaha": "cnSRC",
    "ivo://canfar.itsrc.ext.cineca.it/skaha": "itCINECA",
    "ivo://canfar.srcnet.skao.int/skaha": "skaSRC",
    "ivo://aussrc.org/skaha": "ausSRC",
}


@dataclass(frozen=True)
class SkahaServer(Server):
    """A discovered service; ``issuer`` is the OIDC issuer of ``oidc`` services."""

    uri: str = ""
    issuer: str | None = None


@dataclass(frozen=True)
class RegistrySource:
    """One registry: where its resource-caps file is, and how its services are logged in to."""

    name: str
    url: str
    auth: str | None = None
    issuer: str | None = None
    skip: tuple[str, ...] = ()


BUILTIN_REGISTRIES = (
    RegistrySource(
        "cadc",
        "https://cadc-west-01.canfar.net/reg/resource-caps",
        auth="x509",
        skip=("ivo://canfar.net/src/skaha",),
    ),
    RegistrySource(
        "srcnet", "https://spsrc27.iaa.csic.es/reg/resource-caps", auth="oidc", issuer=SRCNET_ISSUER
    ),
)

#: The service offered when no registry answers: CADC's.
DEFAULT_SERVER = SkahaServer(
    name="canfar",
    url="https://ws-uv.canfar.net/skaha",
    auth="x509",
    description="CANFAR at CADC",
    uri="ivo://cadc.nrc.ca/skaha",
)


def registries(environ: Mapping[str, str] | None = None) -> tuple[list[RegistrySource], bool]:
    """The registries to ask, and whether they come from ``CANFAR_REGISTRY_URLS``."""
    env = os.environ if environ is None else environ
    raw = env.get(REGISTRY_VARIABLE, "").strip()
    if not raw:
        return list(BUILTIN_REGISTRIES), False
    found = []
    for index, item in enumerate(p.strip() for p in raw.split(",")):
        if not item:
            continue
        auth, sep, url = item.partition("=")
        if not sep or auth.strip() not in _AUTHS:
            auth, url = "", item
        issuer = SRCNET_ISSUER if auth.strip() == "oidc" else None
        mode = auth.strip() or None
        found.append(RegistrySource(f"registry{index + 1}", url.strip(), mode, issuer))
    return found, True


def parse_resource_caps(text: str) -> list[tuple[str, str]]:
    """``(uri, capabilities URL)`` pairs of a resource-caps file."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        uri, _, url = line.partition("=")
        pairs.append((uri.strip(), url.strip()))
    return pairs


def parse_capabilities(xml: str) -> tuple[str, list[str]] | None:
    """The service root (without the version) and its auth modes, from a VOSI capabilities
    document; ``None`` when it offers no session API."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    best: tuple[int, str, list[str]] | None = None
    for capability in root.iter():
        if not capability.tag.endswith("capability"):
            continue
        standard = capability.get("standardID") or ""
        if standard == _LEGACY_STANDARD:
            continue  # /v0 is gone from current servers
        if not standard.startswith(_SESSION_STANDARD):
            continue
        for interface in capability:
            if not interface.tag.endswith("interface"):
                continue
            access = next((c for c in interface if c.tag.endswith("accessURL")), None)
            if access is None or access.get("use") != "base" or not access.text:
                continue
            match = re.match(r"^(.*?)/v(\d+)(?:/.*)?$", access.text.strip())
            if match is None:
                continue
            modes = [
                _SECURITY[m.get("standardID") or ""]
                for m in interface
                if m.tag.endswith("securityMethod") and (m.get("standardID") or "") in _SECURITY
            ]
            if not modes:
                continue
            version = int(match.group(2))
            if best is None or version > best[0]:
                best = (version, match.group(1), modes)
            elif version == best[0]:
                best[2].extend(m for m in modes if m not in best[2])
    if best is None:
        return None
    return best[1], best[2]


def server_name(uri: str, url: str) -> str:
    """A service's short name: the known one, else its host with dots as hyphens."""
    if uri in KNOWN_NAMES:
        return KNOWN_NAMES[uri]
    host = urlsplit(url).hostname or uri
    return host.replace(".", "-")


def _is_dev(uri: str, url: str) -> bool:
    text = f"{uri} {url}".lower()
    return any(re.search(rf"(^|[^a-z]){re.escape(word)}", text) for word in _DEV)


#: Why the last GET of each URL failed, for the line that says the list is the fallback.
_why: dict[str, str] = {}


def _get(url: str, timeout: float, accept: str) -> str | None:
    import requests

    from canfar_plugins._support import redirects

    try:
        response = redirects.request(
            "GET", url, timeout=(min(3.0, timeout), timeout), headers={"Accept": accept}
        )
    except requests.exceptions.ProxyError:
        from canfar_plugins.skaha.http import proxy_for

        _why[url] = f"cannot connect to the proxy {proxy_for(url) or ''}".rstrip()
        log.debug("GET %s failed: %s", url, _why[url])
        return None
    except requests.RequestException as exc:
        _why[url] = "no answer" if isinstance(exc, requests.Timeout) else _short(exc)
        log.debug("GET %s failed: %s", url, exc)
        return None
    if response.status_code != 200:
        _why[url] = f"it answered {response.status_code}"
        log.debug("GET %s -> %d", url, response.status_code)
        return None
    _why.pop(url, None)
    return response.content.decode("utf-8", "replace")


def _short(exc: BaseException) -> str:
    from canfar_plugins.skaha.http import _reason

    return _reason(exc)


def _services(source: RegistrySource, timeout: float, dev: bool) -> list[tuple[str, str]]:
    text = _get(source.url, timeout, "text/plain")
    if text is None:
        return []
    found = []
    for uri, url in parse_resource_caps(text):
        if not uri.rstrip("/").endswith("/skaha") or not url.endswith("/capabilities"):
            continue
        if uri in source.skip or (not dev and _is_dev(uri, url)):
            continue
        found.append((uri, url))
    return found


def _server(source: RegistrySource, uri: str, caps_url: str, timeout: float) -> SkahaServer | None:
    xml = _get(caps_url, timeout, "application/xml")
    if xml is None:
        return None
    parsed = parse_capabilities(xml)
    if parsed is None:
        return None
    root, modes = parsed
    auth = source.auth or ("x509" if "x509" in modes else "token")
    return SkahaServer(
        name=server_name(uri, root),
        url=root,
        auth=auth,
        description=uri,
        uri=uri,
        issuer=source.issuer if auth == "oidc" else None,
    )


def discover(environ: Mapping[str, str] | None = None, timeout: float = 5.0) -> list[Server]:
    """Every service the registries list that answers, plus CANFAR's own by default.

    Failures (a registry down, a service that does not answer) are skipped: this feeds a menu.
    """
    env = os.environ if environ is None else environ
    sources, overridden = registries(env)
    dev = bool(env.get("CANFAR_DEV"))
    with contextlib.suppress(ValueError):  # `canfar login --timeout N`
        timeout = float(env.get("CANFAR_DISCOVERY_TIMEOUT") or timeout)
    with ThreadPoolExecutor(max_workers=8) as pool:
        listed = list(pool.map(lambda s: (s, _services(s, timeout, dev)), sources))
        jobs = [(source, uri, url) for source, services in listed for uri, url in services]
        servers = list(pool.map(lambda job: _server(job[0], job[1], job[2], timeout), jobs))
    found: list[Server] = []
    seen: set[str] = set()
    for server in servers:
        if server is not None and server.url not in seen:
            seen.add(server.url)
            found.append(server)
    if not overridden and DEFAULT_SERVER.url not in seen:
        found.insert(0, DEFAULT_SERVER)
    if not any(services for _, services in listed):
        _say_fallback(sources, overridden)
    return found


def _say_fallback(sources: list[RegistrySource], overridden: bool) -> None:
    """One line: no registry listed a service, and why, so the list shown is not taken for
    what the registries offer today."""
    from canfar_core.output import warn

    reasons = "; ".join(f"{s.url}: {_why.get(s.url, 'no service listed')}" for s in sources)
    shown = "none are shown" if overridden else "showing the built-in server list"
    warn(f"no server registry answered ({reasons}); {shown}")
