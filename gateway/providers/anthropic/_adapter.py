"""``AnthropicProvider``: the ``ChatProvider`` for Anthropic's Messages API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, ClassVar

import msgspec

from gateway.providers._base import ProviderCapability, Target, UpstreamProtocolError
from gateway.providers._scrub import known_secrets, scrub
from gateway.providers.anthropic._errors import (
    MalformedUpstreamError,
    error_event_to_status,
    error_response_to_status,
    transport_error,
)
from gateway.providers.anthropic._request import build_messages_request
from gateway.providers.anthropic._response import to_chat_completion
from gateway.providers.anthropic._stream import StreamTranslator
from gateway.providers.http import HttpClient, HttpError, HttpTimeoutError, Response, Url, iter_sse

__all__ = ["DEFAULT_ANTHROPIC_VERSION", "AnthropicProvider"]

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
_encode = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder()


class AnthropicProvider:
    """Translates OpenAI chat requests to ``POST /v1/messages`` and the answers back.

    Built once per process around the gateway's shared upstream ``HttpClient`` (one
    keep-alive pool for every provider). ``Target.default_max_tokens`` (a deployment's
    ``default_max_tokens``), else ``default_max_tokens``, fills Anthropic's required
    ``max_tokens`` when the client sent neither ``max_tokens`` nor ``max_completion_tokens``.
    ``Target.api_version`` overrides the ``anthropic-version`` header; ``Target.headers``
    (e.g. ``anthropic-beta``) are sent as given.
    """

    capabilities: ClassVar[frozenset[ProviderCapability]] = frozenset({"chat"})

    def __init__(
        self,
        *,
        client: HttpClient,
        default_max_tokens: int = 4096,
        default_version: str = DEFAULT_ANTHROPIC_VERSION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if default_max_tokens < 1:
            raise ValueError("default_max_tokens must be positive")
        self._client = client
        self._default_max_tokens = default_max_tokens
        self._default_version = default_version
        self._clock = clock
        self._urls: dict[str, tuple[Url, str]] = {}

    async def chat(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        request = build_messages_request(
            body,
            model=target.upstream_model,
            default_max_tokens=target.default_max_tokens or self._default_max_tokens,
            stream=False,
        )
        started = time.monotonic()
        response = await self._send(target, request, accept="application/json")
        try:
            async with asyncio.timeout(max(target.timeout_s - (time.monotonic() - started), 0)):
                raw = await response.read()
        except TimeoutError:
            raise transport_error(
                HttpTimeoutError("the response body did not arrive in time"), target.deployment
            ) from None
        except HttpError as exc:
            raise transport_error(exc, target.deployment) from exc
        try:
            return to_chat_completion(_decode(raw), created=int(self._clock()))
        except MalformedUpstreamError as exc:
            raise UpstreamProtocolError(
                f"anthropic answered an invalid message: {_ours(exc, target)}",
                deployment=target.deployment,
            ) from exc

    async def count_tokens(self, target: Target, body: dict[str, Any]) -> int:
        """The upstream's own count of a chat body's input tokens (``.../count_tokens``)."""
        request = build_messages_request(
            body,
            model=target.upstream_model,
            default_max_tokens=target.default_max_tokens or self._default_max_tokens,
            stream=False,
        )
        for name in _NOT_COUNTED:
            request.pop(name, None)
        response = await self._send(target, request, accept="application/json", count=True)
        try:
            raw = await response.read()
        except HttpError as exc:
            raise transport_error(exc, target.deployment) from exc
        counted = _decode(raw)
        tokens = counted.get("input_tokens") if isinstance(counted, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            raise UpstreamProtocolError(
                "anthropic answered count_tokens without input_tokens", deployment=target.deployment
            )
        return tokens

    async def stream_chat(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Chunks as Anthropic's events arrive; ``aclose()`` (or cancellation) hangs up upstream."""
        request = build_messages_request(
            body,
            model=target.upstream_model,
            default_max_tokens=target.default_max_tokens or self._default_max_tokens,
            stream=True,
        )
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        translator = StreamTranslator(created=int(self._clock()), include_usage=include_usage)
        response = await self._send(target, request, accept="text/event-stream")
        try:
            # Leaving this block in any way -- the end, an error, or the caller closing or
            # cancelling the iterator -- closes the response, and so the upstream connection.
            async for event in iter_sse(response.iter_bytes(idle_timeout_s=target.timeout_s)):
                try:
                    data = _decode(event.data)
                    if event.event == "error" or (
                        isinstance(data, dict) and data.get("type") == "error"
                    ):
                        raise error_event_to_status(
                            data, deployment=target.deployment, secrets=_secrets(target)
                        )
                    chunks = translator.feed(data)
                except MalformedUpstreamError as exc:
                    raise UpstreamProtocolError(
                        f"anthropic sent an invalid stream event: {_ours(exc, target)}",
                        deployment=target.deployment,
                    ) from exc
                for chunk in chunks:
                    yield chunk
                if translator.finished:
                    return
        except HttpError as exc:
            raise transport_error(exc, target.deployment) from exc
        finally:
            response.close()
        raise UpstreamProtocolError(
            "anthropic stream ended before message_stop", deployment=target.deployment
        )

    async def _send(
        self, target: Target, request: dict[str, Any], *, accept: str, count: bool = False
    ) -> Response:
        url, path = self._url(target)
        if count:
            path += "/count_tokens"
        try:
            response = await self._client.request(
                "POST",
                url,
                path,
                headers=self._headers(target, accept=accept),
                body=_encode(request),
                timeout_s=target.timeout_s,
            )
        except HttpError as exc:
            raise transport_error(exc, target.deployment) from exc
        if response.status >= 400:
            raise await error_response_to_status(
                response, deployment=target.deployment, secrets=_secrets(target), clock=self._clock
            )
        return response

    def _url(self, target: Target) -> tuple[Url, str]:
        cached = self._urls.get(target.base_url)
        if cached is None or cached[0].options is not target.transport:
            url = Url.parse(target.base_url, target.transport)
            path = "/messages" if url.path.endswith("/v1") else "/v1/messages"
            cached = self._urls[target.base_url] = (url, path)
        return cached

    def _headers(self, target: Target, *, accept: str) -> dict[str, str]:
        headers = {
            "anthropic-version": target.api_version or self._default_version,
            "content-type": "application/json",
            "accept": accept,
        }
        if target.api_key:
            headers["x-api-key"] = target.api_key
        headers.update(target.headers)
        return headers


# Message settings count_tokens does not take (it counts the input only).
_NOT_COUNTED = (
    "max_tokens",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "metadata",
)


def _decode(raw: bytes) -> Any:
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedUpstreamError(f"not JSON ({exc})") from exc  # msgspec quotes no input


def _secrets(target: Target) -> tuple[str, ...]:
    return known_secrets(target.api_key, target.headers.values())


def _ours(exc: MalformedUpstreamError, target: Target) -> str:
    """A translator's complaint, which may name a type or field the upstream sent: scrubbed
    and short, so an upstream cannot put its own text into our message."""
    return scrub(str(exc), _secrets(target), limit=120)
