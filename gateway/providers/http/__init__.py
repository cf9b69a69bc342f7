"""The gateway's upstream HTTP client and a server-sent-events reader."""

from __future__ import annotations

from gateway.providers.http._client import HttpClient, Response, Url
from gateway.providers.http._errors import (
    HttpConnectError,
    HttpError,
    HttpProtocolError,
    HttpTimeoutError,
    HttpTlsError,
)
from gateway.providers.http._proxy import NoProxy, Proxy, ProxyRules
from gateway.providers.http._sse import SseEvent, SseParser, iter_sse
from gateway.providers.http._tunnel import TransportOptions

__all__ = [
    "HttpClient",
    "HttpConnectError",
    "HttpError",
    "HttpProtocolError",
    "HttpTimeoutError",
    "HttpTlsError",
    "NoProxy",
    "Proxy",
    "ProxyRules",
    "Response",
    "SseEvent",
    "SseParser",
    "TransportOptions",
    "Url",
    "iter_sse",
]
