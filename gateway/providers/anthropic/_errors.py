"""Anthropic failures -> the provider contract's ``UpstreamError`` tree.

Anthropic reports errors as ``{"type": "error", "error": {"type", "message"}}``, either as an
HTTP error response or, once a stream has started, as an ``error`` event. Both become an
``UpstreamStatusError`` whose ``status_code`` is the HTTP status (or, for an event, the status
Anthropic documents for that error type), so 429 and 5xx -- 529 ``overloaded_error`` included --
are retryable. Failures of the HTTP exchange become connect/timeout/protocol errors.
"""

from __future__ import annotations

import asyncio
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
_SNIPPET_CHARS = 300
_ERROR_BODY_TIMEOUT_S = 10.0


class MalformedUpstreamError(ValueError):
    """Anthropic answered something that is not its wire format (raised by the translators)."""


async def error_response_to_status(
    response: Response, *, deployment: str, clock: Callable[[], float]
) -> UpstreamStatusError:
    """An HTTP error response as an ``UpstreamStatusError`` (its body is read, briefly)."""
    try:
        async with asyncio.timeout(_ERROR_BODY_TIMEOUT_S):
            raw = await response.read()
    except (TimeoutError, HttpError):
        raw = b""
    finally:
        response.close()
    body: Any
    try:
        body = msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        body = None
    error_type, message = _error_fields(body)
    if message is None:
        message = raw[:_SNIPPET_CHARS].decode("utf-8", "replace").strip() or "no error body"
    summary = f"anthropic answered {response.status}" + (
        f" ({error_type}): {message}" if error_type else f": {message}"
    )
    return UpstreamStatusError(
        summary,
        deployment=deployment,
        status_code=response.status,
        body=body,
        retry_after_s=_retry_after_s(response.headers.get("retry-after"), clock),
    )


def error_event_to_status(data: Any, *, deployment: str) -> UpstreamStatusError:
    """An ``error`` event inside a stream as an ``UpstreamStatusError``."""
    error_type, message = _error_fields(data)
    status = _STATUS_BY_ERROR_TYPE.get(error_type or "", 500)
    return UpstreamStatusError(
        f"anthropic stream error ({error_type or 'unknown'}): {message or 'no message'}",
        deployment=deployment,
        status_code=status,
        body=data,
    )


def transport_error(exc: HttpError, deployment: str) -> UpstreamError:
    """The contract's error for a failure of the HTTP exchange itself."""
    phase = "mid-response" if exc.response_started else "before a response"
    message = f"anthropic {phase}: {exc}"
    if isinstance(exc, HttpTimeoutError):
        return UpstreamTimeoutError(f"timed out {message}", deployment=deployment)
    if isinstance(exc, HttpConnectError):
        return UpstreamConnectError(f"connection failed {message}", deployment=deployment)
    return UpstreamProtocolError(f"broken HTTP {message}", deployment=deployment)


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        error_type = error.get("type")
        message = error.get("message")
        return (
            error_type if isinstance(error_type, str) else None,
            message if isinstance(message, str) else None,
        )
    return None, None


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
