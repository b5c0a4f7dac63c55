"""A fake CADC credential service (``ivo://cadc.nrc.ca/cred``) on loopback.

It serves a VOSI capabilities document whose ``ivo://ivoa.net/std/CDP#proxy-1.0`` capability
has an interface secured by HTTP Basic (``ivo://ivoa.net/sso#BasicAA``), and answers a GET of
that interface's access URL, with the right username and password, with a real PEM: a
certificate for the user (valid ``daysValid`` days) and its key, made by ``openssl``.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CRED_URI = "ivo://cadc.nrc.ca/cred"

_CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" \
xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="full">{root}/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/CDP#delegate-1.0">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{root}/delegate</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#tls-with-certificate"/>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/CDP#proxy-1.0">
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{root}/priv</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#tls-with-certificate"/>
    </interface>
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{root}/auth/priv</accessURL>
      <securityMethod standardID="ivo://ivoa.net/sso#BasicAA"/>
    </interface>
  </capability>
</vosi:capabilities>
"""


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_pem(user: str, days: int) -> str:
    """A self-signed certificate for ``CN=user`` valid ``days`` days, followed by its key."""
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(key), "-out", str(cert),
                "-days", str(days), "-subj", f"/C=ca/O=fake/CN={user}",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        return cert.read_text() + key.read_text()


@dataclass
class CredRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeCredentialService:
    """Accounts (username -> password) given in; every request recorded in :attr:`requests`.

    ``down = True`` answers 503 to certificate requests.
    """

    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = dict(accounts)
        self.down = False
        self.requests: list[CredRequest] = []
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> FakeCredentialService:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def root(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/cred"

    @property
    def capabilities_url(self) -> str:
        return f"{self.root}/capabilities"

    def answer(self, request: CredRequest) -> tuple[int, str, str]:
        if request.path == "/cred/capabilities":
            return 200, _CAPABILITIES.format(root=self.root), "text/xml"
        if request.path != "/cred/auth/priv":
            return 404, "not found\n", "text/plain"
        if self.down:
            return 503, "service unavailable\n", "text/plain"
        user = self._user(request.authorization)
        if user is None:
            return 401, "authentication failed\n", "text/plain"
        days = int(float(request.query.get("daysValid", ["10"])[0]))
        return 200, make_pem(user, days), "application/x-pem-file"

    def _user(self, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if self.accounts.get(user) == password else None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCredentialService

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        request = CredRequest(
            "GET", parts.path, parse_qs(parts.query), self.headers.get("Authorization")
        )
        self.fake.requests.append(request)
        status, body, kind = self.fake.answer(request)
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
        self.end_headers()
        self.wfile.write(data)
