"""``AnthropicProvider``: the ``ChatProvider`` for Anthropic's Messages API."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx
import msgspec

from gateway.providers._base import Target, UpstreamProtocolError
from gateway.providers.anthropic._errors import (
    MalformedUpstreamError,
    error_event_to_status,
    error_response_to_status,
    translate_transport_errors,
)
from gateway.providers.anthropic._request import build_messages_request
from gateway.providers.anthropic._response import to_chat_completion
from gateway.providers.anthropic._sse import iter_events
from gateway.providers.anthropic._stream import StreamTranslator

__all__ = ["DEFAULT_ANTHROPIC_VERSION", "AnthropicProvider"]

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
    """Translates OpenAI chat requests to ``POST /v1/messages`` and the answers back.

    Built once per process around the shared ``httpx.AsyncClient`` (its pool and keep-alive
    serve every deployment). ``default_max_tokens`` fills Anthropic's required ``max_tokens``
    when the client sent neither ``max_tokens`` nor ``max_completion_tokens``.
    ``Target.api_version`` overrides the ``anthropic-version`` header; ``Target.headers``
    (e.g. ``anthropic-beta``) are sent as given.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
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

    async def chat(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        request = build_messages_request(
            body,
            model=target.upstream_model,
            default_max_tokens=self._default_max_tokens,
            stream=False,
        )
        with translate_transport_errors(target.deployment, started=lambda: False):
            response = await self._client.post(
                _messages_url(target.base_url),
                content=msgspec.json.encode(request),
                headers=self._headers(target, accept="application/json"),
                timeout=target.timeout_s,
            )
        if response.is_error:
            raise error_response_to_status(
                response, deployment=target.deployment, clock=self._clock
            )
        try:
            return to_chat_completion(_decode(response.content), created=int(self._clock()))
        except MalformedUpstreamError as exc:
            raise UpstreamProtocolError(
                f"anthropic answered an invalid message: {exc}", deployment=target.deployment
            ) from exc

    async def stream_chat(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Chunks as Anthropic's events arrive; ``aclose()`` (or cancellation) hangs up upstream."""
        request = build_messages_request(
            body,
            model=target.upstream_model,
            default_max_tokens=self._default_max_tokens,
            stream=True,
        )
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        translator = StreamTranslator(created=int(self._clock()), include_usage=include_usage)
        sent = False
        with translate_transport_errors(target.deployment, started=lambda: sent):
            # Leaving this block in any way -- the end, an error, or the caller closing or
            # cancelling the iterator -- closes the response, and so the upstream connection.
            async with self._client.stream(
                "POST",
                _messages_url(target.base_url),
                content=msgspec.json.encode(request),
                headers=self._headers(target, accept="text/event-stream"),
                timeout=target.timeout_s,
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise error_response_to_status(
                        response, deployment=target.deployment, clock=self._clock
                    )
                async for event in iter_events(response.aiter_lines()):
                    try:
                        data = _decode(event.data.encode())
                        if event.event == "error" or (
                            isinstance(data, dict) and data.get("type") == "error"
                        ):
                            raise error_event_to_status(data, deployment=target.deployment)
                        chunks = translator.feed(data)
                    except MalformedUpstreamError as exc:
                        raise UpstreamProtocolError(
                            f"anthropic sent an invalid stream event: {exc}",
                            deployment=target.deployment,
                        ) from exc
                    for chunk in chunks:
                        sent = True
                        yield chunk
                    if translator.finished:
                        return
        raise UpstreamProtocolError(
            "anthropic stream ended before message_stop", deployment=target.deployment
        )

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


def _messages_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _decode(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedUpstreamError(f"not JSON: {raw[:200]!r}") from exc
