"""A webhook receiver on loopback: records every POST, answers as a test scripts it.

``stop()`` closes its socket (a receiver that is down: connections are refused) and
``start()`` listens on the same port again. ``script`` holds the answers to give first, in
order: a status code, or ``("slow", seconds)`` / ``("slow", seconds, status)`` to wait
before answering (200 by default); then ``status``.
With ``tls`` (a server context) it speaks HTTPS as ``localhost`` and records the TLS server
names clients asked for.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.net import free_port, wait_until

__all__ = ["Received", "WebhookReceiver"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.time()

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class WebhookReceiver:
    port: int = field(default_factory=free_port)
    status: int = 200
    script: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    server_names: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/hooks"
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, time.time()))
                    answer = receiver.script.pop(0) if receiver.script else receiver.status
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = answer[2] if len(answer) > 2 else 200
                try:
                    self.send_response(int(answer))
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, *, timeout_s: float = 30) -> list[Received]:
        wait_until(lambda: len(self.received) >= count, timeout_s=timeout_s)
        return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
