"""An exchange inside the process: a request the gateway makes to itself (a batch line, a
background response), answered into memory instead of a socket."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.api.http._exchange import Headers
from gateway.platform.errors import PayloadTooLargeError

__all__ = ["LocalExchange"]


class LocalExchange:
    """``Exchange`` over a body in memory; ``status``, ``headers`` and ``body`` hold the answer.

    Streams are collected whole (``chunks``) for callers that ask for one.
    """

    method = "POST"
    disconnected = False

    def __init__(self, body: bytes, *, headers: Mapping[str, str] | None = None) -> None:
        self._request_body = body
        self.headers: Mapping[str, str] = dict(headers or {})
        self.status = 0
        self.response_headers: dict[str, str] = {}
        self.body = b""
        self.chunks: list[bytes] = []

    async def read_body(self, limit: int) -> bytes:
        if len(self._request_body) > limit:
            raise PayloadTooLargeError(f"the request body is over {limit} bytes")
        return self._request_body

    def watch(self) -> None:
        return None

    def unwatch(self) -> None:
        return None

    async def send_json(self, status: int, body: bytes, headers: Headers) -> None:
        self.status = status
        self.response_headers = {name.lower(): value for name, value in headers}
        self.body = body

    async def start_stream(self, status: int, content_type: bytes, headers: Headers) -> None:
        self.status = status
        self.response_headers = {name.lower(): value for name, value in headers}

    async def send_chunk(self, data: bytes) -> None:
        self.chunks.append(data)

    async def end_stream(self, data: bytes) -> None:
        if data:
            self.chunks.append(data)
