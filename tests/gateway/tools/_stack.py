"""What the gateway tests of this package share: keys, clients, a tool, a counting listener."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai

from tests.support.keys import insert_key

__all__ = ["WEATHER", "CountingListener", "client", "make_key"]

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def make_key(database_url: str, *, role: str = "member", pii_policy: str | None = None) -> str:
    """A new key that may use ``get_*`` tools only."""
    return insert_key(
        database_url, name="guards", role=role, allowed_tools=["get_*"], pii_policy=pii_policy
    )


def client(gateway: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=key, max_retries=0, timeout=20)


class CountingListener:
    """A loopback HTTP server that answers every GET with a JSON Schema and counts them.

    ``with CountingListener() as listener:``; ``listener.url``; ``listener.hits``.
    """

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b'{"type": "string"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CountingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
