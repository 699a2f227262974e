"""A counting reverse proxy: every HTTP call a client makes to the service, as the service sees it.

It sits between the clients (the host's Pocket backend, the naive client) and
``tuckaway serve``, forwards each request unchanged over a kept-alive
connection, and records ``(monotonic time, method, path, status)``. The count
is taken on the wire, so it cannot flatter the host: a retry, a split batch or
a sync is a call like any other. Both sides of a comparison go through it, so
its own cost (well under a millisecond a call) is in both.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te",
        "trailer", "content-length", "host"}


@dataclass(frozen=True)
class Call:
    at: float
    method: str
    path: str
    status: int
    seconds: float  # how long the service took to answer


class CountingProxy:
    """Forwards http://127.0.0.1:PORT/... to ``upstream`` and counts the calls."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in one segment: no Nagle/delayed-ACK stall of 40 ms
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                start = time.monotonic()
                status, reply_headers, data = proxy._upstream(self.command, self.path, body,
                                                              headers)
                end = time.monotonic()
                proxy._record(Call(end, self.command, self.path.split("?")[0], status,
                                   end - start))
                self.send_response(status)
                for key, value in reply_headers:
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._local = threading.local()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="proxy",
                                        daemon=True)
        self._thread.start()

    def _upstream(self, method: str, path: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(*self._target, timeout=60)
                self._local.conn = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def reset(self) -> None:
        with self._lock:
            self.calls = []

    def count(self, prefix: str = "/v3/") -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.path.startswith(prefix))

    def service_seconds(self, prefix: str = "/v3/") -> float:
        """Total time the service spent answering the calls counted so far."""
        with self._lock:
            return sum(c.seconds for c in self.calls if c.path.startswith(prefix))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
