"""One delivery attempt over HTTP: checked target, bounded time, bounded answer, no redirects."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from configs import WebhookSettings
from ingestion.webhooks._errors import TargetRefusedError
from ingestion.webhooks._targets import Target, parse_target, resolve_target

__all__ = ["Attempt", "WebhookSender"]

_EXCERPT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt got: the receiver's status code, or why there was none."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """POSTs a signed body to an endpoint; every failure is an :class:`Attempt`, never raised.

    The whole attempt (DNS lookup, connect, request, reading the answer) is bounded by
    ``timeout_s``; the connect alone by ``connect_timeout_s``. A redirect is a failed attempt
    (it is not followed: it could lead anywhere). At most ``max_response_bytes`` of the
    answer are read. Proxy variables of the environment are ignored, so the address that was
    checked is the one connected to. ``verify`` is the TLS trust (a test's own CA).
    """

    def __init__(self, settings: WebhookSettings, *, verify: ssl.SSLContext | bool = True) -> None:
        self._settings = settings
        self._verify = verify

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        settings = self._settings
        try:
            async with asyncio.timeout(settings.timeout_s):
                target = parse_target(url, max_length=settings.max_url_length)
                target = await resolve_target(target, allow_private=settings.allow_private_targets)
                return await self._post(target, body, headers)
        except TimeoutError:
            return Attempt(None, f"timed out after {settings.timeout_s:g}s")
        except TargetRefusedError as exc:
            return Attempt(None, f"target refused: {exc.message}")
        except httpx.HTTPError as exc:
            return Attempt(None, _describe(exc))

    async def _post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Attempt:
        settings = self._settings
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=self._verify
        ) as client:
            request = client.build_request(
                "POST",
                target.connect_url(),
                content=body,
                headers={**headers, "host": target.host_header()},
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                answer = await _read_bounded(response, settings.max_response_bytes)
            finally:
                await response.aclose()
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code)
        return Attempt(response.status_code, _answer_error(response.status_code, answer))


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    read = bytearray()
    if limit == 0:
        return b""
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= limit:
            break
    return bytes(read[:limit])


def _answer_error(status: int, answer: bytes) -> str:
    excerpt = answer[:_EXCERPT_CHARS].decode("utf-8", "replace")
    excerpt = "".join(c if c.isprintable() else " " for c in excerpt).strip()
    return f"HTTP {status}" + (f": {excerpt}" if excerpt else "")


def _describe(exc: httpx.HTTPError) -> str:
    """The kind of failure and the library's reason (no request details: they hold the URL)."""
    reason = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {reason}"[:500]
