"""Anthropic failures -> the provider contract's ``UpstreamError`` tree.

Anthropic reports errors as ``{"type": "error", "error": {"type", "message"}}``, either as an
HTTP error response or, once a stream has started, as an ``error`` event. Both become an
``UpstreamStatusError`` whose ``status_code`` is the HTTP status (or, for an event, the status
Anthropic documents for that error type), so 429 and 5xx -- 529 ``overloaded_error`` included --
are retryable. Transport failures from httpx become connect/timeout errors.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import msgspec

from gateway.providers._base import (
    UpstreamConnectError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)

__all__ = [
    "MalformedUpstreamError",
    "error_event_to_status",
    "error_response_to_status",
    "translate_transport_errors",
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


class MalformedUpstreamError(ValueError):
    """Anthropic answered something that is not its wire format (raised by the translators)."""


def error_response_to_status(
    response: httpx.Response, *, deployment: str, clock: Callable[[], float]
) -> UpstreamStatusError:
    """An HTTP error response (body already read) as an ``UpstreamStatusError``."""
    body: Any
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        body = None
    error_type, message = _error_fields(body)
    if message is None:
        message = response.text[:_SNIPPET_CHARS].strip() or response.reason_phrase
    summary = f"anthropic answered {response.status_code}" + (
        f" ({error_type}): {message}" if error_type else f": {message}"
    )
    return UpstreamStatusError(
        summary,
        deployment=deployment,
        status_code=response.status_code,
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


@contextmanager
def translate_transport_errors(deployment: str, *, started: Callable[[], bool]) -> Iterator[None]:
    """Turn httpx transport errors into upstream errors; ``started``: chunks were already sent."""
    try:
        yield
    except httpx.TimeoutException as exc:
        phase = "between stream events" if started() else "waiting for anthropic"
        raise UpstreamTimeoutError(
            f"timed out {phase} ({type(exc).__name__})", deployment=deployment
        ) from exc
    except httpx.TransportError as exc:
        phase = "mid-stream" if started() else "before a response"
        raise UpstreamConnectError(
            f"connection to anthropic failed {phase}: {type(exc).__name__}: {exc}",
            deployment=deployment,
        ) from exc


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
