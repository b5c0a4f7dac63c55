"""The platform's storage (``arc:`` home and projects, ``vault:``) as an fsspec filesystem.

It speaks IVOA VOSpace 2.1 through this plugin's HTTP layer (timeouts, retries, redirect rules,
secret masking):

* the service is found in the registry (``CANFAR_REGISTRY_URLS`` replaces the built-in ones)
  when first used, and its capabilities give the ``nodes``, ``sync-2.1`` and ``transfers`` URLs;
* a node's details: ``GET nodes/PATH?detail=max``, a folder's children paged with ``limit=``
  and ``uri=`` (the first child of a next page is the last one of the page before);
* reads and writes: a sync transfer (``pullFromVoSpace`` / ``pushToVoSpace``) whose answer names
  pre-authorised URLs, then a streamed ``GET`` (with ``Range`` after a seek) or a streamed
  ``PUT`` to them, sent without the credentials;
* ``mkdir``: ``PUT`` of a container node; ``rm``/``rmdir``: ``DELETE``; ``mv``: an async transfer
  whose direction is the new node, run and waited for.

Published checksums (the node property ``core#MD5``) are reported as ``md5`` in ``info``.
"""

from __future__ import annotations

import io
import posixpath
import queue
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from fsspec import AbstractFileSystem

from canfar_core.errors import CanfarError, ConfigError, NotFound, ServerError
from canfar_plugins.skaha.http import HttpClient, RequestRefused

if TYPE_CHECKING:
    import requests

    from canfar_core.contexts import Context

VOS = "http://www.ivoa.net/xml/VOSpace/v2.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
UWS = "http://www.ivoa.net/xml/UWS/v1.0"
CORE = "ivo://ivoa.net/vospace/core#"
NODES_STANDARD = "ivo://ivoa.net/std/VOSpace/v2.0#nodes"
SYNC_STANDARD = "ivo://ivoa.net/std/VOSpace#sync-2.1"
ASYNC_STANDARD = "ivo://ivoa.net/std/VOSpace/v2.0#transfers"
HTTPS_GET = CORE + "httpsget"
HTTPS_PUT = CORE + "httpsput"
#: Children asked for in one listing request.
PAGE = 1000
#: A whole upload may take this long (seconds); each read and write still has its own timeout.
UPLOAD_DEADLINE = 7 * 24 * 3600.0
#: Names of each storage's service in the registry (the last part of its URI).
LEAVES = {"arc": ("arc", "cavern"), "vault": ("vault",)}


class QuotaExceeded(CanfarError):
    """The storage refused a write: the quota is used up."""


def _tag(name: str) -> str:
    return f"{{{VOS}}}{name}"


class Service:
    """Where one VOSpace service answers, found from the registry on first use."""

    def __init__(self, leaf: str, context: Context) -> None:
        self.leaf = leaf
        self.context = context
        self._found: dict[str, str] | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> dict[str, str]:
        """``nodes``, ``sync``, ``async`` URLs and the node ``authority`` (``cadc.nrc.ca~arc``)."""
        with self._lock:
            if self._found is None:
                self._found = self._discover()
            return self._found

    def _discover(self) -> dict[str, str]:
        from canfar_plugins.skaha.discovery import parse_resource_caps, registries

        here = urlsplit(self.context.url or "").hostname
        sources, _ = registries()
        candidates: list[tuple[str, str]] = []
        for source in sources:
            text = _plain(source.url).get_text("")
            for uri, caps in parse_resource_caps(text):
                if uri.rstrip("/").rpartition("/")[2] in LEAVES[self.leaf]:
                    candidates.append((uri, caps))
        if not candidates:
            raise ConfigError(
                f"no '{self.leaf}' storage service is listed in the registry",
                hint="set CANFAR_REGISTRY_URLS to a registry that lists it",
            )
        candidates.sort(key=lambda pair: urlsplit(pair[1]).hostname != here)
        uri, caps = candidates[0]
        found = _capabilities(_plain(caps).get_text(""))
        missing = [name for name in ("nodes", "sync") if name not in found]
        if missing:
            raise ServerError(f"{uri} offers no VOSpace {' or '.join(missing)} interface")
        authority, _, service = uri.removeprefix("ivo://").partition("/")
        found["authority"] = f"{authority}~{service.rpartition('/')[2]}"
        return found


def _plain(url: str) -> HttpClient:
    """A client for a URL that needs no credentials (the registry, a pre-authorised URL)."""
    return HttpClient(url, headers={"User-Agent": _agent()})


def _agent() -> str:
    from canfar_core._version import __version__

    return f"canfar/{__version__}"


def _capabilities(xml: str) -> dict[str, str]:
    wanted = {NODES_STANDARD: "nodes", SYNC_STANDARD: "sync", ASYNC_STANDARD: "async"}
    found: dict[str, str] = {}
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return found
    for capability in root.iter():
        name = wanted.get(capability.get("standardID") or "")
        if name is None or name in found:
            continue
        for access in capability.iter():
            if access.tag.endswith("accessURL") and access.text:
                found[name] = access.text.strip()
                break
    return found


def _properties(node: ElementTree.Element) -> dict[str, str]:
    found = {}
    for prop in node.iter(_tag("property")):
        uri = prop.get("uri") or ""
        if uri.startswith(CORE):
            found[uri.removeprefix(CORE)] = (prop.text or "").strip()
    return found


class VOSpaceFileSystem(AbstractFileSystem):
    """One VOSpace service as an fsspec filesystem; paths are absolute node paths."""

    protocol = "vos"
    root_marker = "/"
    cachable = False  # one per context and credentials: never shared through fsspec's cache

    def __init__(self, leaf: str, context: Context, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = Service(leaf, context)
        self.context = context
        self._clients: dict[str, HttpClient] = {}
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        text = text.split(":", 1)[1] if text.startswith("vos:") else text
        return "/" + text.strip("/")

    def _client(self, url: str) -> tuple[HttpClient, str]:
        """The authenticated client for ``url``'s server, and ``url``'s path and query."""
        from canfar_core.auth import get_provider
        from canfar_plugins._support.login import login_command

        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            client = self._clients.get(origin)
            if client is None:
                provider = get_provider(self.context.auth or "token")
                credentials = self.context.credentials()
                provider.check(self.context, credentials)
                client = HttpClient(
                    origin,
                    login_hint=f"log in again: {login_command(self.context)}",
                    headers={"User-Agent": _agent()},
                )
                provider.apply(client.session, self.context, credentials)
                self._clients[origin] = client
        return client, parts.path + (f"?{parts.query}" if parts.query else "")

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        client, path = self._client(url)
        try:
            return client.request(method, path, **kwargs)
        except RequestRefused as exc:
            raise _quota(exc) or exc from None

    def _node_url(self, path: str) -> str:
        nodes = self.service.endpoints()["nodes"].rstrip("/")
        return f"{nodes}{quote(self._strip_protocol(path))}" if path.strip("/") else nodes

    def _uri(self, path: str) -> str:
        return f"vos://{self.service.endpoints()['authority']}{self._strip_protocol(path)}"

    def _post(self, url: str, body: bytes | dict[str, str], content_type: str | None) -> str:
        """POST (a transfer or a job phase) and follow its 303 to the answer; its body."""
        import requests as requests_module

        client, _ = self._client(url)
        headers = {"Content-Type": content_type} if content_type else {}
        timeout = (client.timeouts.connect, client.timeouts.read)
        try:
            # Negotiating a transfer changes nothing: a retry is safe, so no "may be done".
            response = client.session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests_module.RequestException as exc:
            raise client._transport_failure(exc, "POST", True, "")[0] from None
        if response.status_code >= 400:
            error = client.error_for(response, "POST")
            raise (_quota(error) if isinstance(error, RequestRefused) else None) or error
        if response.status_code in (301, 302, 303, 307, 308):
            location = urljoin(url, response.headers.get("Location", ""))
            return self._request("GET", location).text
        return response.text

    # -- reading the tree --------------------------------------------------------------------

    def _entry(self, node: ElementTree.Element, path: str) -> dict[str, Any]:
        kind = node.get(f"{{{XSI}}}type") or ""
        props = _properties(node)
        folder = kind.endswith("ContainerNode")
        entry: dict[str, Any] = {
            "name": path,
            "type": "directory" if folder else "file",
            "size": int(props["length"]) if props.get("length", "").isdigit() else 0,
        }
        if props.get("date"):
            entry["modified"] = props["date"]
        if props.get("MD5") and not folder:
            entry["md5"] = props["MD5"]
        if kind.endswith("LinkNode"):
            entry["islink"] = True
        return entry

    def _get_node(self, path: str, limit: int, start: str | None = None) -> ElementTree.Element:
        params = {"detail": "max", "limit": str(limit)}
        if start:
            params["uri"] = start
        response = self._request("GET", self._node_url(path), params=params)
        try:
            return ElementTree.fromstring(response.content)
        except ElementTree.ParseError:
            raise ServerError(f"{path}: the storage sent a node that is not VOSpace XML") from None

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        try:
            node = self._get_node(path, 0)
        except NotFound:
            raise FileNotFoundError(path) from None
        return self._entry(node, path)

    def _children(self, path: str) -> Iterator[dict[str, Any]]:
        start: str | None = None
        while True:
            try:
                node = self._get_node(path, PAGE, start)
            except NotFound:
                raise FileNotFoundError(path) from None
            if start is None and not (node.get(f"{{{XSI}}}type") or "").endswith("ContainerNode"):
                yield self._entry(node, path)
                return
            holder = node.find(_tag("nodes"))
            children = list(holder) if holder is not None else []
            if start is not None and children and children[0].get("uri") == start:
                children = children[1:]  # the page starts with the last child already seen
            for child in children:
                name = (child.get("uri") or "").rpartition("/")[2]
                yield self._entry(child, posixpath.join(path, name))
            if not children or len(children) < PAGE - (1 if start else 0):
                return
            start = children[-1].get("uri")

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        entries = list(self._children(self._strip_protocol(path)))
        return entries if detail else [entry["name"] for entry in entries]

    # -- changing the tree -------------------------------------------------------------------

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if create_parents:
            return self.makedirs(path, exist_ok=True)
        body = (
            f'<vos:node xmlns:vos="{VOS}" xmlns:xsi="{XSI}" uri="{self._uri(path)}" '
            'xsi:type="vos:ContainerNode"><vos:properties/></vos:node>'
        )
        try:
            self._request(
                "PUT", self._node_url(path), data=body.encode(),
                headers={"Content-Type": "text/xml"},
            )  # fmt: skip
        except RequestRefused as exc:
            if exc.status == 409:
                raise FileExistsError(path) from None
            raise
        except NotFound:
            raise FileNotFoundError(posixpath.dirname(path)) from None
        self.invalidate_cache(path)
        return None

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            here = "/" + "/".join(parts[:depth])
            try:
                found = self.info(here)
            except FileNotFoundError:
                self.mkdir(here, create_parents=False)
                continue
            if found["type"] != "directory":
                raise NotADirectoryError(here)
            if depth == len(parts) and not exist_ok:
                raise FileExistsError(here)

    def _rm(self, path: str) -> None:
        try:
            self._request("DELETE", self._node_url(self._strip_protocol(path)))
        except NotFound:
            raise FileNotFoundError(path) from None

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for one in sorted(paths, key=len, reverse=True):  # children before their folder
            self._rm(one)

    def rmdir(self, path: str) -> None:
        if self.ls(path, detail=False):
            import errno

            raise OSError(errno.ENOTEMPTY, "folder not empty", path)
        self._rm(path)

    def mv(self, path1: str, path2: str, recursive: bool = False, **kwargs: Any) -> None:
        """A move on the service itself: an async transfer whose direction is the new node."""
        endpoints = self.service.endpoints()
        if "async" not in endpoints:
            raise ServerError("this storage service offers no transfers, so no moves")
        source, target = self._strip_protocol(path1), self._strip_protocol(path2)
        with_target = target
        try:
            if self.info(target)["type"] == "directory":
                with_target = posixpath.join(target, posixpath.basename(source))
        except FileNotFoundError:
            pass
        if self.exists(with_target):
            self._rm(with_target)  # a move over an existing file replaces it, as rename does
        body = self._transfer(source, self._uri(with_target), None, keep=False)
        job = self._job_url(body)
        self._post(f"{job}/phase", {"PHASE": "RUN"}, None)
        self._wait(job, source)

    def _job_url(self, answer: str) -> str:
        root = ElementTree.fromstring(answer)
        job_id = root.findtext(f"{{{UWS}}}jobId")
        if not job_id:
            raise ServerError("the storage service started no transfer job")
        return f"{self.service.endpoints()['async'].rstrip('/')}/{job_id}"

    def _wait(self, job: str, path: str) -> None:
        pause = 0.05
        for _ in range(600):
            phase = self._request("GET", f"{job}/phase").text.strip()
            if phase == "COMPLETED":
                return
            if phase in ("ERROR", "ABORTED"):
                summary = ElementTree.fromstring(self._request("GET", job).content)
                message = summary.findtext(f".//{{{UWS}}}message") or phase.lower()
                if "not found" in message.lower():
                    raise FileNotFoundError(path)
                raise CanfarError(f"{path}: the move failed: {message.strip()}")
            time.sleep(pause)
            pause = min(1.0, pause * 2)
        raise CanfarError(f"{path}: the move did not finish", hint="check with: canfar data ls")

    # -- file contents -----------------------------------------------------------------------

    def _transfer(self, path: str, direction: str, protocol: str | None, keep: bool = True) -> str:
        parts = [f'<vos:transfer xmlns:vos="{VOS}" version="2.1">']
        parts.append(f"<vos:target>{self._uri(path)}</vos:target>")
        parts.append(f"<vos:direction>{direction}</vos:direction>")
        if protocol:
            parts.append(f'<vos:protocol uri="{protocol}"/>')
        if not keep:
            parts.append("<vos:keepBytes>false</vos:keepBytes>")
        parts.append("</vos:transfer>")
        url = self.service.endpoints()["sync" if protocol else "async"]
        try:
            return self._post(url, "".join(parts).encode(), "text/xml")
        except NotFound:
            raise FileNotFoundError(path) from None

    def _endpoint(self, path: str, direction: str, protocol: str) -> str:
        answer = self._transfer(path, direction, protocol)
        try:
            root = ElementTree.fromstring(answer)
        except ElementTree.ParseError:
            raise ServerError(f"{path}: the storage sent a transfer that is not XML") from None
        for endpoint in root.iter(_tag("endpoint")):
            if endpoint.text and endpoint.text.strip():
                return endpoint.text.strip()
        raise ServerError(f"{path}: the storage offered no URL to transfer it")

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        if "r" in mode:
            details = self.info(path)
            if details["type"] == "directory":
                raise IsADirectoryError(path)
            url = self._endpoint(path, "pullFromVoSpace", HTTPS_GET)
            return _Download(url, int(details["size"]))
        if "w" in mode:
            url = self._endpoint(path, "pushToVoSpace", HTTPS_PUT)
            self.invalidate_cache(path)
            return _Upload(url, path)
        raise ValueError(f"mode {mode!r} is not supported by VOSpace")


def _quota(exc: RequestRefused) -> QuotaExceeded | None:
    if exc.status == 413 or "quota" in exc.message.lower():
        return QuotaExceeded(
            f"quota exceeded ({exc.message})",
            hint="remove files you no longer need, or ask for a larger quota",
        )
    return None


class _Download(io.BufferedIOBase):
    """A file read from a pre-authorised URL as one streamed GET; a seek starts a ranged one.

    A large read hands over the bytes the HTTP layer read, as they are: wrapping the stream in
    ``io.BufferedReader`` instead copies every block once more into freshly allocated memory,
    which tripled the processor time of a download.
    """

    #: Bytes read ahead for small reads (``readline``, a header of a few kilobytes).
    AHEAD = 64 * 1024

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.position = url, size, 0
        self.client = _plain(url)
        self._response: requests.Response | None = None
        self._stream: Any = None
        self._ahead = b""  # bytes already read from the network, starting at ``position``

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        target = max(0, base + offset)
        if target != self.position:
            self._drop()
            self.position = target
        return self.position

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = self._stream = None
        self._ahead = b""

    def _fetch(self, count: int) -> bytes:
        """Up to ``count`` bytes from the network, after those already read ahead."""
        import requests

        offset = self.position + len(self._ahead)
        if offset >= self.size:
            return b""
        if self._stream is None:
            # identity: the bytes as stored, so sizes, offsets and checksums are the file's
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            self._response = self.client.request("GET", "", headers=headers, stream=True)
            self._stream = self._response.raw
        try:
            data = self._stream.read(min(count, self.size - offset))
        except Exception as exc:  # urllib3's errors: the connection was cut mid-file
            wrapped = requests.ConnectionError(exc)
            raise self.client._transport_failure(wrapped, "GET", True, "")[0] from None
        if not data:
            raise ConnectionError(f"the download stopped at byte {offset} of {self.size}")
        return bytes(data)

    def read(self, size: int | None = -1) -> bytes:
        wanted = self.size - self.position if size is None or size < 0 else size
        pieces: list[bytes] = []
        while wanted > 0:
            if self._ahead:
                piece, self._ahead = self._ahead[:wanted], self._ahead[wanted:]
            else:
                piece = self._fetch(wanted)
            if not piece:
                break
            pieces.append(piece)
            self.position += len(piece)
            wanted -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read1(self, size: int = -1) -> bytes:
        if not self._ahead:
            self.peek()
        return self.read(min(size, len(self._ahead)) if size >= 0 else len(self._ahead))

    def peek(self, size: int = 0) -> bytes:
        if not self._ahead:
            self._ahead = self._fetch(self.AHEAD)
        return self._ahead

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._drop()
            self.client.close()
        super().close()


class _Upload(io.RawIOBase):
    """A file written as one streamed PUT to a pre-authorised URL, from a bounded queue."""

    QUEUED = 1

    def __init__(self, url: str, path: str) -> None:
        self.path = path
        self.client = _plain(url)
        self.blocks: queue.Queue[bytes | None] = queue.Queue(self.QUEUED)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._send, daemon=True, name="canfar-put")
        self.thread.start()

    def writable(self) -> bool:
        return True

    def _body(self) -> Iterator[bytes]:
        while (block := self.blocks.get()) is not None:
            yield block

    def _send(self) -> None:
        try:
            self.client.request(
                "PUT", "", data=self._body(),  # type: ignore[arg-type]
                headers={"Content-Type": "application/octet-stream"},
                deadline=UPLOAD_DEADLINE,
            )  # fmt: skip
        except RequestRefused as exc:
            self.error = _quota(exc) or exc
        except BaseException as exc:
            self.error = exc
        finally:
            while True:  # let a writer blocked on a full queue go on, and see the error
                try:
                    self.blocks.get_nowait()
                except queue.Empty:
                    break

    def write(self, data: Any) -> int:
        if self.error is not None:
            raise self.error
        block = bytes(data)
        while self.thread.is_alive():
            try:
                self.blocks.put(block, timeout=0.5)
                return len(block)
            except queue.Full:
                continue
        raise self.error or ConnectionError(f"{self.path}: the upload stopped")

    def close(self) -> None:
        if self.closed:
            return
        if self.thread.is_alive():
            self.blocks.put(None)
        self.thread.join()
        self.client.close()
        super().close()
        if self.error is not None:
            raise self.error

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is not None and self.thread.is_alive():
            self.error = self.error or ConnectionError("the upload was abandoned")
            self.blocks.put(None)  # the server sees a short body; the caller removes it
        self.close()
