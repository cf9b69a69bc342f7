"""Anthropic failures -> the provider contract's ``UpstreamError`` tree.

An ``{"type": "error", "error": {...}}`` body, as an HTTP error response or a stream's ``error``
event, becomes an ``UpstreamStatusError`` with the HTTP status (for an event, the status
Anthropic documents for its type), so 429 and 5xx (529 ``overloaded_error`` included) are
retryable. Only the error type and a scrubbed message are kept (``_scrub``). Failures of the
HTTP exchange become connect, timeout or protocol errors.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from typing import Any

import msgspec

from gateway.providers._base import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers._scrub import error_fields, read_error_body, status_error
from gateway.providers.http import (
    HttpConnectError,
    HttpError,
    HttpTimeoutError,
    Response,
)

__all__ = [
    "MalformedUpstreamError",
    "error_event_to_status",
    "error_response_to_status",
    "transport_error",
]

# The HTTP status Anthropic uses for each error type (docs: "HTTP errors").
_STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_ERROR_BODY_TIMEOUT_S = 10.0


class MalformedUpstreamError(ValueError):
    """Anthropic answered something that is not its wire format (raised by the translators)."""


async def error_response_to_status(
    response: Response, *, deployment: str, secrets: tuple[str, ...], clock: Callable[[], float]
) -> UpstreamStatusError:
    """An HTTP error response as an ``UpstreamStatusError`` (its body is read, briefly).

    ``secrets``: what the gateway sent that must not come back in ``detail`` (its API key).
    """
    raw = await read_error_body(response, _ERROR_BODY_TIMEOUT_S)
    body: Any
    try:
        body = msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        body = None  # an HTML page from a proxy, say: nothing the caller needs
    return status_error(
        deployment,
        response.status,
        error_fields(body, secrets),
        retry_after_s=_retry_after_s(response.headers.get("retry-after"), clock),
    )


def error_event_to_status(
    data: Any, *, deployment: str, secrets: tuple[str, ...]
) -> UpstreamStatusError:
    """An ``error`` event inside a stream as an ``UpstreamStatusError``."""
    fields = error_fields(data, secrets)
    status = _STATUS_BY_ERROR_TYPE.get(fields.error_type or "", 500)
    return status_error(deployment, status, fields, what="an error event")


def transport_error(exc: HttpError, deployment: str) -> UpstreamError:
    """The contract's error for a failure of the HTTP exchange itself."""
    phase = "mid-response" if exc.response_started else "before a response"
    message = f"anthropic {phase}: {exc}"
    if isinstance(exc, HttpTimeoutError):
        return UpstreamTimeoutError(f"timed out {message}", deployment=deployment)
    if isinstance(exc, HttpConnectError):
        return UpstreamConnectError(f"connection failed {message}", deployment=deployment)
    return UpstreamProtocolError(f"broken HTTP {message}", deployment=deployment)


def _retry_after_s(value: str | None, clock: Callable[[], float]) -> float | None:
    """``retry-after`` as seconds: Anthropic sends a number; an HTTP date is accepted too."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - clock()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)
