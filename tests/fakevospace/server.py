"""A fake VOSpace 2.1 service (the platform's ``arc`` storage): a real HTTP server on loopback.

It answers what canfar's VOSpace filesystem sends, as the platform's services do:

* ``GET /arc/capabilities``: the ``nodes``, ``sync-2.1`` and ``transfers`` interfaces;
* ``GET|PUT|DELETE /arc/nodes/PATH``: node XML (``detail``, ``limit`` and ``uri`` paging),
  container creation, removal;
* ``POST /arc/synctrans``: a transfer document, answered by a 303 to the negotiated transfer,
  whose endpoint is a pre-authorised ``/arc/preauth/KEY/PATH`` URL (``GET`` with ``Range``,
  streamed ``PUT``, chunked or not);
* ``POST /arc/transfers`` and ``.../phase``: an async move, as a UWS job;
* faults a test sets: :attr:`forbidden` paths (403), a :attr:`quota` in bytes (413 with the
  service's message), :attr:`cut_after` (the connection closed mid-download), a
  :attr:`wrong_md5`, :attr:`down` (503), and a bearer token that must match (else 401).

Files are kept in memory with their MD5, published as the node property ``core#MD5``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

VOS = "http://www.ivoa.net/xml/VOSpace/v2.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
UWS = "http://www.ivoa.net/xml/UWS/v1.0"
CORE = "ivo://ivoa.net/vospace/core#"
AUTHORITY = "fake.local~arc"
URI = "ivo://fake.local/arc"


@dataclass
class Node:
    folder: bool
    data: bytes | bytearray = b""
    md5: str = ""
    date: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


class FakeVOSpace:
    """The service; tests read :attr:`nodes` and :attr:`requests` and set the faults."""

    def __init__(self, token: str = "fake-token-jdoe") -> None:
        self.token = token
        self.nodes: dict[str, Node] = {"/": Node(folder=True)}
        self.requests: list[tuple[str, str]] = []
        self.forbidden: set[str] = set()
        self.quota: int | None = None
        self.cut_after: int | None = None
        self.wrong_md5 = False
        self.down = False
        self.jobs: dict[str, dict[str, str]] = {}
        self.transfers: dict[str, tuple[str, str]] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeVOSpace:
        service = self

        class Handler(_Handler):
            fake = service

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def root(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/arc"

    @property
    def record(self) -> tuple[str, str]:
        """This service's line in a registry: ``(uri, capabilities URL)``."""
        return URI, f"{self.root}/capabilities"

    # -- what tests set up and look at -------------------------------------------------------

    def put_file(self, path: str, data: bytes) -> None:
        with self.lock:
            self._make_parents(path)
            self.nodes[path] = Node(False, data, hashlib.md5(data).hexdigest())

    def _make_parents(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0] or "/"
        while parent not in self.nodes:
            self.nodes[parent] = Node(folder=True)
            parent = parent.rsplit("/", 1)[0] or "/"

    def used(self) -> int:
        return sum(len(node.data) for node in self.nodes.values())

    def children(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(
            p
            for p in self.nodes
            if p != "/" and p.startswith(prefix) and "/" not in p[len(prefix) :]
        )

    def node_xml(self, path: str, node: Node, children: list[str] | None) -> str:
        kind = "vos:ContainerNode" if node.folder else "vos:DataNode"
        props = [f'<vos:property uri="{CORE}date">{node.date}</vos:property>']
        if not node.folder:
            props.append(f'<vos:property uri="{CORE}length">{len(node.data)}</vos:property>')
            md5 = "0" * 32 if self.wrong_md5 else node.md5
            props.append(f'<vos:property uri="{CORE}MD5">{md5}</vos:property>')
        inner = ""
        if children is not None:
            inner = (
                "<vos:nodes>"
                + "".join(self.node_xml(child, self.nodes[child], None) for child in children)
                + "</vos:nodes>"
            )
        uri = f"vos://{AUTHORITY}{quote(path)}" if path != "/" else f"vos://{AUTHORITY}"
        return (
            f'<vos:node xmlns:vos="{VOS}" xmlns:xsi="{XSI}" uri="{uri}" xsi:type="{kind}">'
            f"<vos:properties>{''.join(props)}</vos:properties>{inner}</vos:node>"
        )


def _path_of(uri: str) -> str:
    return "/" + unquote(uri.split(AUTHORITY, 1)[1]).strip("/")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVOSpace
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, as a real server sends them

    def log_message(self, *args: Any) -> None:
        pass

    # -- answers ---------------------------------------------------------------------------

    def _answer(
        self, status: int, body: bytes | str = b"", kind: str = "text/plain", **headers: str
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes | bytearray:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()  # grown in place: no second copy of a large upload
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _route(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = dict(parse_qsl(url.query))
        fake.requests.append((method, self.path))
        if fake.down:
            self._body()
            return self._answer(503, "service unavailable")
        if path == "/arc/capabilities":
            return self._answer(200, _capabilities(fake.root), "text/xml")
        if path.startswith("/arc/preauth/"):
            return self._preauth(method, path)
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._body()
            return self._answer(401, "token expired")
        if path == "/arc/nodes" or path.startswith("/arc/nodes/"):
            node_path = "/" + path.removeprefix("/arc/nodes").strip("/")
            if any(node_path == p or node_path.startswith(p + "/") for p in fake.forbidden):
                self._body()
                return self._answer(403, f"permission denied: {node_path}")
            return self._nodes(method, node_path, query)
        if path == "/arc/synctrans" and method == "POST":
            return self._sync(self._body())
        match = re.fullmatch(r"/arc/synctrans/(\w+)/xfer", path)
        if match and method == "GET":
            return self._xfer(match.group(1))
        if path == "/arc/transfers" and method == "POST":
            return self._async(self._body())
        match = re.fullmatch(r"/arc/transfers/(\w+)(/phase)?", path)
        if match:
            return self._job(method, match.group(1), bool(match.group(2)))
        return self._answer(404, "no such endpoint")

    def do_GET(self) -> None:
        self._route("GET")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    # -- nodes -----------------------------------------------------------------------------

    def _nodes(self, method: str, path: str, query: dict[str, str]) -> None:
        fake = self.fake
        with fake.lock:
            node = fake.nodes.get(path)
            if method == "GET":
                if node is None:
                    return self._answer(404, f"not found: {path}")
                children = None
                if node.folder:
                    names = fake.children(path)
                    start = query.get("uri")
                    if start:
                        start_path = _path_of(start)
                        names = [n for n in names if n >= start_path]
                    children = names[: int(query.get("limit", "1000000"))]
                return self._answer(200, fake.node_xml(path, node, children), "text/xml")
            if method == "PUT":
                self._body()
                if node is not None:
                    return self._answer(409, f"node already exists: {path}")
                parent = fake.nodes.get(path.rsplit("/", 1)[0] or "/")
                if parent is None or not parent.folder:
                    return self._answer(404, f"parent not found: {path}")
                fake.nodes[path] = Node(folder=True)
                return self._answer(201, "created")
            if method == "DELETE":
                if node is None:
                    return self._answer(404, f"not found: {path}")
                if node.folder and fake.children(path):
                    return self._answer(400, f"container not empty: {path}")
                del fake.nodes[path]
                return self._answer(200)
        return self._answer(405, "method not allowed")

    # -- transfers -------------------------------------------------------------------------

    def _sync(self, body: bytes) -> None:
        fake = self.fake
        root = ElementTree.fromstring(body)
        target = _path_of(root.findtext(f"{{{VOS}}}target") or "")
        direction = root.findtext(f"{{{VOS}}}direction") or ""
        with fake.lock:
            node = fake.nodes.get(target)
            parent = fake.nodes.get(target.rsplit("/", 1)[0] or "/")
        if any(target == p or target.startswith(p + "/") for p in fake.forbidden):
            return self._answer(403, f"permission denied: {target}")
        if direction == "pullFromVoSpace" and (node is None or node.folder):
            return self._answer(404, f"not found: {target}")
        if direction == "pushToVoSpace" and (parent is None or not parent.folder):
            return self._answer(404, f"parent not found: {target}")
        job = secrets.token_hex(6)
        fake.transfers[job] = (target, direction)
        return self._answer(303, "", Location=f"{fake.root}/synctrans/{job}/xfer")

    def _xfer(self, job: str) -> None:
        fake = self.fake
        target, direction = fake.transfers[job]
        protocol = CORE + ("httpsget" if direction == "pullFromVoSpace" else "httpsput")
        endpoint = f"{fake.root}/preauth/{job}{quote(target)}"
        document = (
            f'<vos:transfer xmlns:vos="{VOS}" version="2.1">'
            f"<vos:target>vos://{AUTHORITY}{quote(target)}</vos:target>"
            f"<vos:direction>{direction}</vos:direction>"
            f'<vos:protocol uri="{protocol}"><vos:endpoint>{endpoint}</vos:endpoint></vos:protocol>'
            "</vos:transfer>"
        )
        return self._answer(200, document, "text/xml")

    def _preauth(self, method: str, path: str) -> None:
        fake = self.fake
        job, _, rest = path.removeprefix("/arc/preauth/").partition("/")
        target = "/" + rest
        if fake.transfers.get(job, ("", ""))[0] != target:
            return self._answer(403, "not pre-authorised")
        if method == "GET":
            node = fake.nodes.get(target)
            if node is None:
                return self._answer(404, f"not found: {target}")
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
            data = node.data[start:]
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-MD5", node.md5)
            self.end_headers()
            cut = fake.cut_after
            view = memoryview(data)
            for offset in range(0, len(data), 1024 * 1024):
                if cut is not None and offset >= cut:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.close()
                    return None
                self.wfile.write(view[offset : offset + 1024 * 1024])
            return None
        if method == "PUT":
            data = self._body()
            with fake.lock:
                if fake.quota is not None and fake.used() + len(data) > fake.quota:
                    return self._answer(413, "Request Entity Too Large: quota exceeded")
                fake._make_parents(target)
                node = Node(False, data, hashlib.md5(data).hexdigest())
                fake.nodes[target] = node
            return self._answer(201, "", **{"Content-MD5": node.md5})
        return self._answer(405, "method not allowed")

    def _async(self, body: bytes) -> None:
        fake = self.fake
        root = ElementTree.fromstring(body)
        job = secrets.token_hex(6)
        fake.jobs[job] = {
            "target": _path_of(root.findtext(f"{{{VOS}}}target") or ""),
            "direction": _path_of(root.findtext(f"{{{VOS}}}direction") or ""),
            "phase": "PENDING",
            "error": "",
        }
        return self._answer(303, "", Location=f"{fake.root}/transfers/{job}")

    def _job(self, method: str, job_id: str, phase: bool) -> None:
        fake = self.fake
        job = fake.jobs.get(job_id)
        if job is None:
            return self._answer(404, "no such job")
        if method == "POST" and phase:
            form = dict(parse_qsl(self._body().decode()))
            if form.get("PHASE") == "RUN" and job["phase"] == "PENDING":
                self._move(job)
            return self._answer(303, "", Location=f"{fake.root}/transfers/{job_id}")
        if phase:
            return self._answer(200, job["phase"])
        error = f"<uws:errorSummary><uws:message>{job['error']}</uws:message></uws:errorSummary>"
        document = (
            f'<uws:job xmlns:uws="{UWS}"><uws:jobId>{job_id}</uws:jobId>'
            f"<uws:phase>{job['phase']}</uws:phase>{error if job['error'] else ''}</uws:job>"
        )
        return self._answer(200, document, "text/xml")

    def _move(self, job: dict[str, str]) -> None:
        fake = self.fake
        source, target = job["target"], job["direction"]
        with fake.lock:
            if source not in fake.nodes:
                job.update(phase="ERROR", error=f"node not found: {source}")
                return
            moved = {
                p: n for p, n in fake.nodes.items() if p == source or p.startswith(source + "/")
            }
            for old, node in moved.items():
                del fake.nodes[old]
                fake.nodes[target + old[len(source) :]] = node
            job["phase"] = "COMPLETED"


def _capabilities(root: str) -> str:
    def capability(standard: str, url: str, use: str) -> str:
        return (
            f'<capability standardID="{standard}"><interface xsi:type="vs:ParamHTTP" role="std">'
            f'<accessURL use="{use}">{url}</accessURL>'
            '<securityMethod standardID="ivo://ivoa.net/sso#token"/></interface></capability>'
        )

    return (
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
        f'xmlns:xsi="{XSI}" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">'
        + capability("ivo://ivoa.net/std/VOSpace/v2.0#nodes", f"{root}/nodes", "base")
        + capability("ivo://ivoa.net/std/VOSpace#sync-2.1", f"{root}/synctrans", "full")
        + capability("ivo://ivoa.net/std/VOSpace/v2.0#transfers", f"{root}/transfers", "full")
        + "</vosi:capabilities>"
    )
