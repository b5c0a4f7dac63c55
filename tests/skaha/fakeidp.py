"""A fake OpenID provider on loopback: discovery, client registration, device flow, refresh."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def make_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT with these claims (clients only read them)."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


class FakeIdP:
    """Issues access tokens (JWTs for ``user``) valid ``lifetime`` seconds. With ``rotate``,
    each refresh token is good once: only the newest one issued is accepted. A refresh is
    answered after ``refresh_delay`` seconds (a provider under load)."""

    def __init__(
        self,
        user: str = "jdoe",
        lifetime: int = 3600,
        pending_polls: int = 1,
        rotate: bool = False,
        refresh_delay: float = 0.0,
    ) -> None:
        self.rotate = rotate
        self.refresh_delay = refresh_delay
        self.user = user
        self.lifetime = lifetime
        self.pending_polls = pending_polls
        self.registrations: list[dict[str, Any]] = []
        self.clients: dict[str, str] = {}
        self.devices: dict[str, int] = {}
        self.refresh_tokens: set[str] = set()
        self.refreshes = 0
        self.deny = False
        self.posts: list[tuple[str, dict[str, str], str | None]] = []
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def access_token(self) -> str:
        return make_jwt(
            {
                "sub": "1234",
                "preferred_username": self.user,
                "exp": int(time.time()) + self.lifetime,
                "jti": secrets.token_hex(6),
            }
        )

    def start(self) -> FakeIdP:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    base = idp.issuer
                    self._send(
                        200,
                        {
                            "issuer": base,
                            "device_authorization_endpoint": base + "device",
                            "token_endpoint": base + "token",
                            "registration_endpoint": base + "register",
                        },
                    )
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                basic = self.headers.get("Authorization")
                if self.path == "/register":
                    body = json.loads(raw)
                    idp.registrations.append(body)
                    client_id, secret = f"client-{len(idp.registrations)}", secrets.token_hex(8)
                    idp.clients[client_id] = secret
                    self._send(201, {"client_id": client_id, "client_secret": secret})
                    return
                form = dict(parse_qsl(raw))
                idp.posts.append((self.path, form, basic))
                if basic is None or not self._client_ok(basic):
                    self._send(401, {"error": "invalid_client"})
                elif self.path == "/device":
                    code = secrets.token_hex(8)
                    idp.devices[code] = 0
                    self._send(
                        200,
                        {
                            "device_code": code,
                            "user_code": "WXYZ-1234",
                            "verification_uri": idp.issuer + "activate",
                            "interval": 0,
                            "expires_in": 600,
                        },
                    )
                elif self.path == "/token":
                    self._token(form)
                else:
                    self._send(404, {"error": "not_found"})

            def _client_ok(self, basic: str) -> bool:
                decoded = base64.b64decode(basic.split(" ", 1)[1]).decode()
                client_id, _, secret = decoded.partition(":")
                return idp.clients.get(client_id) == secret

            def _token(self, form: dict[str, str]) -> None:
                grant = form.get("grant_type")
                if grant == "urn:ietf:params:oauth:grant-type:device_code":
                    code = form.get("device_code", "")
                    if code not in idp.devices:
                        self._send(400, {"error": "invalid_grant"})
                        return
                    if idp.deny:
                        self._send(400, {"error": "access_denied"})
                        return
                    idp.devices[code] += 1
                    if idp.devices[code] <= idp.pending_polls:
                        self._send(400, {"error": "authorization_pending"})
                        return
                elif grant == "refresh_token":
                    time.sleep(idp.refresh_delay)
                    if form.get("refresh_token") not in idp.refresh_tokens:
                        self._send(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "refresh token expired",
                            },
                        )
                        return
                    idp.refreshes += 1
                else:
                    self._send(400, {"error": "unsupported_grant_type"})
                    return
                refresh = secrets.token_hex(12)
                if idp.rotate:
                    idp.refresh_tokens.clear()
                idp.refresh_tokens.add(refresh)
                self._send(
                    200,
                    {
                        "access_token": idp.access_token(),
                        "refresh_token": refresh,
                        "expires_in": idp.lifetime,
                        "token_type": "Bearer",
                    },
                )

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
