"""A small threaded HTTP server on loopback that vendor fakes build on: a request log, and scripted
trouble (the next N requests answered 429 with Retry-After, or 5xx; a per-request delay)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Req:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float = 0.0  # monotonic arrival time (the benchmark reads request rates from it)

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class FakeServer:
    """Subclasses implement handle(req) -> Answer."""

    def __init__(self):
        self.requests: list[Req] = []
        self.lock = threading.Lock()
        self._trouble: list[Answer] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' APIs

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                # Headers and body go out as two writes; without this, Nagle + delayed ACK add
                # ~40 ms to every keep-alive request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle_one_request(self):
                # Facebook's SDK sends DELETE payloads in the query string: allow long request lines.
                self.raw_requestline = self.rfile.readline(8 * 1024 * 1024)
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                if not self.parse_request():
                    return
                fake._serve(self)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- scripted trouble ---
    def fail_next(self, count: int, status: int = 503, retry_after: float | None = None, body=None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self.lock:
            self._trouble.extend(
                Answer(status, body or {"message": "scripted failure"}, headers) for _ in range(count)
            )

    def count(self, method: str | None = None, path_contains: str = "") -> int:
        with self.lock:
            return sum(
                1 for r in self.requests if (method is None or r.method == method) and path_contains in r.path
            )

    def handle(self, req: Req) -> Answer:
        raise NotImplementedError

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        req = Req(
            h.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in h.headers.items()},
            body,
            time.monotonic(),
        )
        if self.delay:
            time.sleep(self.delay)  # a slow vendor, by design of the test
        with self.lock:
            self.requests.append(req)
            trouble = self._trouble.pop(0) if self._trouble else None
        answer = trouble or self.handle(req)
        payload = json.dumps(answer.body).encode() if answer.body is not None else b""
        h.send_response(answer.status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        for k, v in answer.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)
