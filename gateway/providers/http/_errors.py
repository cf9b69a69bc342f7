"""Errors of the upstream HTTP client; adapters translate them to ``UpstreamError``."""

from __future__ import annotations

__all__ = [
    "HttpConnectError",
    "HttpError",
    "HttpProtocolError",
    "HttpTimeoutError",
    "HttpTlsError",
]


class HttpError(Exception):
    """The exchange failed. ``response_started``: some of the response had arrived."""

    def __init__(self, message: str, *, response_started: bool = False) -> None:
        super().__init__(message)
        self.response_started = response_started


class HttpConnectError(HttpError):
    """No connection, or the connection closed before a response began."""


class HttpTimeoutError(HttpError):
    """No response (headers) within the timeout."""


class HttpProtocolError(HttpError):
    """The peer sent something that is not HTTP/1.1, or closed a response midway."""


class HttpTlsError(HttpConnectError):
    """The TLS handshake with the upstream failed (e.g. its certificate did not verify)."""
