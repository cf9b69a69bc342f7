"""The gateway's upstream HTTP client and a server-sent-events reader."""

from __future__ import annotations

from gateway.providers.http._client import HttpClient, Response, Url
from gateway.providers.http._errors import (
    HttpConnectError,
    HttpError,
    HttpProtocolError,
    HttpTimeoutError,
)
from gateway.providers.http._sse import SseEvent, iter_sse

__all__ = [
    "HttpClient",
    "HttpConnectError",
    "HttpError",
    "HttpProtocolError",
    "HttpTimeoutError",
    "Response",
    "SseEvent",
    "Url",
    "iter_sse",
]
