"""What of an upstream's error body may leave the adapter, and how it is cleaned first.

The body is untrusted: some upstreams echo the request's headers (the provider API key among
them), some quote the prompt. ``UpstreamStatusError`` keeps only:

- short identifiers (``type``, ``code``, ``param``) that pass ``identifier``: safe for logs;
- the message as ``detail``, through ``scrub`` (secrets removed, length capped): for the caller
  whose request the upstream refused, never for a log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any

from gateway.providers._base import UpstreamStatusError
from gateway.providers.http import HttpError, Response

__all__ = [
    "MAX_DETAIL_CHARS",
    "ErrorFields",
    "error_fields",
    "identifier",
    "known_secrets",
    "read_error_body",
    "scrub",
    "status_error",
]

MAX_DETAIL_CHARS = 500
MAX_ERROR_BODY_BYTES = 64 * 1024  # an error body is read this far, and no further
_MAX_IDENTIFIER_CHARS = 64
_MIN_SECRET_CHARS = 8  # shorter configured values are not replaced wherever they occur
_REDACTED = "[redacted]"

# A header echoed as ``Name: value``, ``"name": "value"`` or ``name=value``.
_HEADER_VALUE = re.compile(
    r"""(?ix)
    ( (?:proxy-)?authorization | x-api-key | api[-_]?key | x-goog-api-key | set-cookie | cookie
      | x-amz-security-token | ocp-apim-subscription-key | access[-_]?token | client[-_]secret )
    ( ["']? \s* [:=] \s* ["']? )
    ( (?:bearer|basic|token)\s+ )?
    [^\s"',;}\]]+
    """
)
_TOKENS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"),  # OpenAI, Anthropic (sk-ant-...), many gateways
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"),  # AWS key ids
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
    # anything long and key-like: letters and digits together, 32+ characters
    re.compile(
        r"(?<![A-Za-z0-9_+/=-])(?=[A-Za-z0-9_+/=-]*\d)(?=[A-Za-z0-9_+/=-]*[A-Za-z])"
        r"[A-Za-z0-9_+/=-]{32,}"
    ),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]-]*")


def known_secrets(api_key: str | None, headers: Iterable[str]) -> tuple[str, ...]:
    """The values the gateway sent that must never come back: the API key, header values."""
    values = [api_key, *headers]
    return tuple(v for v in values if v and len(v) >= _MIN_SECRET_CHARS)


def scrub(text: str, secrets: Iterable[str] = (), *, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` with secrets replaced, on one line, at most ``limit`` characters.

    Removed: each of ``secrets`` wherever it occurs, values of credential headers echoed in
    any common notation, and anything shaped like a key (``sk-...``, bearer and basic
    credentials, AWS key ids, JWTs, long runs of letters and digits). Capping comes after
    scrubbing, so a secret is never cut in two before it is recognised.
    """
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    text = _HEADER_VALUE.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{_REDACTED}", text)
    for pattern in _TOKENS:
        text = pattern.sub(
            lambda m: f"{m[1]} {_REDACTED}" if m.lastindex else _REDACTED,
            text,
        )
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def identifier(value: object, secrets: Iterable[str] = ()) -> str | None:
    """``value`` if it is a short identifier (a code, type or parameter name), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_IDENTIFIER_CHARS:
        return None
    if _IDENTIFIER.fullmatch(value) is None or scrub(value, secrets) != value:
        return None
    return value


class ErrorFields:
    """The usable parts of an upstream's error body, cleaned; see the module docstring."""

    __slots__ = ("code", "detail", "error_type", "param")

    def __init__(
        self,
        *,
        detail: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        self.detail = detail
        self.error_type = error_type
        self.code = code
        self.param = param


def error_fields(body: Any, secrets: Iterable[str]) -> ErrorFields:
    """Message, type, code and param from the error shapes upstreams use.

    OpenAI and Anthropic: ``{"error": {"message", "type", "code", "param"}}``; vLLM and other
    compatible servers: those fields at the top level; FastAPI: ``{"detail": "..."}``.
    """
    secrets = tuple(secrets)
    if not isinstance(body, dict):
        return ErrorFields()
    error = body.get("error")
    fields: dict[str, Any] = error if isinstance(error, dict) else body
    message = fields.get("message")
    if not isinstance(message, str):
        message = error if isinstance(error, str) else body.get("detail")
    code = fields.get("code")
    return ErrorFields(
        detail=(scrub(message, secrets) or None) if isinstance(message, str) else None,
        error_type=identifier(fields.get("type"), secrets),
        code=identifier(code, secrets) if isinstance(code, str) else None,
        param=identifier(fields.get("param"), secrets),
    )


async def read_error_body(response: Response, timeout_s: float) -> bytes:
    """An error response's body: at most ``MAX_ERROR_BODY_BYTES``, within ``timeout_s``.

    Empty when it does not arrive in time; the response is closed either way.
    """
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(max(timeout_s, 0.001)):
            async for piece in response.iter_bytes():
                parts.append(piece)
                size += len(piece)
                if size >= MAX_ERROR_BODY_BYTES:
                    break  # the rest is dropped below: close() ends the exchange
    except (TimeoutError, HttpError):
        return b""
    finally:
        response.close()
    return b"".join(parts)[:MAX_ERROR_BODY_BYTES]


def status_error(
    deployment: str,
    status: int,
    fields: ErrorFields,
    *,
    retry_after_s: float | None = None,
    what: str = "",
) -> UpstreamStatusError:
    """The contract's error for an upstream error status (or a stream's error event).

    Its ``message`` names the deployment, the status and the upstream's error code or type:
    nothing else of the upstream's answer.
    """
    kind = fields.code or fields.error_type
    message = f"{deployment} answered {what or f'HTTP {status}'}" + (f" ({kind})" if kind else "")
    return UpstreamStatusError(
        message,
        deployment=deployment,
        status_code=status,
        detail=fields.detail,
        error_type=fields.error_type,
        code=fields.code,
        param=fields.param,
        retry_after_s=retry_after_s,
    )
