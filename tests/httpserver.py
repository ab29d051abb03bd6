"""A real Range-aware HTTP server on 127.0.0.1 with fault injection, for the download tests."""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Fault:
    """What to do wrong for one request (faults are consumed one per request, in order)."""

    status: Optional[int] = None  # answer this status with `body` (or a short text)
    body: Optional[bytes] = None  # with status=None: serve these bytes with 200 (an HTML page)
    headers: dict = field(default_factory=dict)
    drop_after: Optional[int] = None  # close the connection after this many body bytes
    stall_after: Optional[int] = None  # after this many body bytes, go silent for `stall` s
    stall: float = 0.0
    ignore_range: bool = False  # answer 200 with the whole file
    ignore_if_range: bool = False  # serve the range even if the validator no longer matches
    serve_from: Optional[int] = None  # answer 206 starting here, whatever was asked
    gzip: bool = False  # gzip the whole body (and ignore Range, like on-the-fly compressors)
    change_to: Optional[bytes] = None  # the file changes (new ETag) before this request
    rate: Optional[float] = None  # bytes per second


@dataclass
class Resource:
    body: bytes
    etag: Optional[str] = None
    last_modified: Optional[str] = "Wed, 21 Oct 2026 07:28:00 GMT"
    content_type: str = "application/octet-stream"
    faults: deque = field(default_factory=deque)
    redirect: Optional[str] = None
    version: int = 1
    headers: dict = field(default_factory=dict)  # sent with every 200/206 (an API's `Link`)


@dataclass
class Hit:
    path: str
    headers: dict
    status: int = 0
    sent: int = 0  # body bytes written


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    connections = 0  # TCP connections accepted (a refused TLS handshake counts, no Hit does)

    def get_request(self) -> tuple:
        conn, addr = self.socket.accept()
        self.connections += 1
        tls = getattr(self, "tls_context", None)
        if tls is not None:  # handshake here, so a client that refuses the certificate is seen
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                raise
        return conn, addr

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-response (it refused an HTML page, it timed out) is
        # exactly what these tests provoke; anything else is a bug in the test server.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultyServer:
    """`add()` files, `redirect()` paths, then read `hits` to see what the client asked for."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None) -> None:
        self.resources: dict[str, Resource] = {}
        self.scheme = "https" if tls is not None else "http"
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(_Handler):
            owner = server

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.tls_context = tls  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes, *, etag: Optional[str] = '"v1"',
            faults: tuple = (), **kw: object) -> str:
        self.resources[path] = Resource(body=body, etag=etag, faults=deque(faults), **kw)
        return self.url(path)

    def redirect(self, path: str, to: str) -> str:
        self.resources[path] = Resource(body=b"", redirect=to)
        return self.url(path)

    @property
    def connections(self) -> int:
        return self.httpd.connections

    def hits_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def sent(self, path: str) -> int:
        """Body bytes of the file itself (200/206) sent for `path`."""
        return sum(h.sent for h in self.hits_for(path) if h.status in (200, 206))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultyServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        hit = Hit(path=self.path, headers=dict(self.headers))
        with self.owner._lock:
            self.owner.hits.append(hit)
            res = self.owner.resources.get(self.path)
            fault = res.faults.popleft() if res is not None and res.faults else Fault()
        if res is None:
            return self._plain(hit, 404, b"not found")
        if res.redirect is not None:
            hit.status = 302
            self.send_response(302)
            self.send_header("Location", res.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if fault.change_to is not None:
            res.body, res.version = fault.change_to, res.version + 1
            res.etag = f'"v{res.version}"'
            res.last_modified = f"Thu, 22 Oct 2026 07:28:{res.version:02d} GMT"
        if fault.status is not None:
            return self._plain(hit, fault.status, fault.body or b"server says no", fault.headers)
        if fault.body is not None:
            return self._plain(hit, 200, fault.body, {"Content-Type": "text/html"})
        self._serve(hit, res, fault)
        return None

    def _plain(self, hit: Hit, status: int, body: bytes, headers: Optional[dict] = None) -> None:
        hit.status = status
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        hit.sent += len(body)

    def _serve(self, hit: Hit, res: Resource, fault: Fault) -> None:
        body, total = res.body, len(res.body)
        start, end, status = 0, total, 200
        match = _RANGE.match(self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        fresh = (if_range is None or if_range in (res.etag, res.last_modified)
                 or fault.ignore_if_range)
        if match and fresh and not fault.ignore_range and not fault.gzip:
            start = int(match.group(1))
            if start >= total:
                return self._plain(hit, 416, b"", {"Content-Range": f"bytes */{total}"})
            end = min(total, int(match.group(2)) + 1) if match.group(2) else total
            status = 206
        if fault.serve_from is not None:
            start, status = fault.serve_from, 206
        payload = memoryview(body)[start:end]
        headers = {"Content-Type": res.content_type}
        if fault.gzip:
            payload = memoryview(gzip.compress(bytes(body)))
            headers["Content-Encoding"] = "gzip"
        if res.etag:
            headers["ETag"] = res.etag
        if res.last_modified:
            headers["Last-Modified"] = res.last_modified
        headers["Accept-Ranges"] = "bytes"
        headers.update(res.headers)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        headers.update(fault.headers)
        hit.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self._write_body(hit, payload, fault)

    def _write_body(self, hit: Hit, payload: memoryview, fault: Fault) -> None:
        limit = len(payload)
        for cut in (fault.drop_after, fault.stall_after):
            if cut is not None:
                limit = min(limit, cut)
        step = 64 * 1024 if fault.rate else max(1, limit)
        pos = 0
        try:
            while pos < limit:
                chunk = payload[pos:min(limit, pos + step)]
                self.wfile.write(chunk)
                pos += len(chunk)
                hit.sent += len(chunk)
                if fault.rate:
                    time.sleep(len(chunk) / fault.rate)
            if fault.stall_after is not None:
                time.sleep(fault.stall)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if limit < len(payload):  # the fault: hang up in the middle of the body
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
