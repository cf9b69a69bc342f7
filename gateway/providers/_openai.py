"""The OpenAI-compatible adapter: OpenAI itself, vLLM, and any server speaking its wire format.

Bodies pass through untouched apart from ``model`` (already set by the router), so fields
this gateway does not know still reach an upstream that does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import msgspec

from gateway.providers._base import (
    ProviderCapability,
    Target,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers._scrub import error_fields, known_secrets, read_error_body, status_error
from gateway.providers.http import (
    HttpClient,
    HttpConnectError,
    HttpError,
    HttpTimeoutError,
    Response,
    SseParser,
    Url,
)

__all__ = ["OpenAIProvider", "parse_retry_after"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class OpenAIProvider:
    """Chat, completions, embeddings and Responses against ``{base_url}/chat/completions`` etc."""

    capabilities: ClassVar[frozenset[ProviderCapability]] = frozenset(
        {"chat", "completion", "embedding", "responses"}
    )

    def __init__(self, *, client: HttpClient) -> None:
        self._client = client
        self._urls: dict[str, Url] = {}

    # -- the provider protocols ----------------------------------------------
    async def chat(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(target, "chat/completions", body)

    def stream_chat(self, target: Target, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        return self._stream(target, "chat/completions", body)

    async def complete(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(target, "completions", body)

    def stream_complete(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        return self._stream(target, "completions", body)

    async def embed(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(target, "embeddings", body)

    async def responses(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(target, "responses", body)

    def stream_responses(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        return self._stream(target, "responses", body, _responses_event)

    async def count_input_tokens(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(target, "responses/input_tokens", body)

    # -- wire details subclasses change ---------------------------------------
    def path(self, target: Target, endpoint: str) -> str:
        return f"/{endpoint}"

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        headers.update(target.headers)
        return headers

    # -- plumbing ------------------------------------------------------------
    async def _send(self, target: Target, endpoint: str, body: dict[str, Any]) -> Response:
        url = self._urls.get(target.base_url)
        if url is None or url.options is not target.transport:
            url = self._urls[target.base_url] = Url.parse(target.base_url, target.transport)
        try:
            response = await self._client.request(
                "POST",
                url,
                self.path(target, endpoint),
                headers=self.headers(target),
                body=_encode(body),
                timeout_s=target.timeout_s,
            )
        except HttpError as exc:
            raise translate(exc, target.deployment) from exc
        if response.status >= 400:
            raise await _status_error(response, target)
        return response

    async def _call(self, target: Target, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        response = await self._send(target, endpoint, body)
        try:
            raw = await _read(response, target.timeout_s - (time.monotonic() - started))
        except HttpError as exc:
            raise translate(exc, target.deployment) from exc
        return _json_object(raw, target, stream=False)

    async def _stream(
        self,
        target: Target,
        endpoint: str,
        body: dict[str, Any],
        parse: Callable[[bytes, Target], dict[str, Any]] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        parse = parse or _chunk
        response = await self._send(target, endpoint, body)
        parser = SseParser()
        try:
            async for piece in response.iter_bytes(idle_timeout_s=target.timeout_s):
                for event in parser.feed(piece):  # often several events in one piece
                    if event.data == b"[DONE]":
                        return
                    yield parse(event.data, target)
            for event in parser.close():
                if event.data == b"[DONE]":
                    return
                yield parse(event.data, target)
        except HttpError as exc:
            raise translate(exc, target.deployment) from exc
        finally:
            response.close()


def _chunk(data: bytes, target: Target) -> dict[str, Any]:
    """One stream event's chunk; an error event raises."""
    chunk = _json_object(data, target, stream=True)
    if "error" in chunk and "choices" not in chunk:
        raise _stream_error(chunk["error"], target)
    return chunk


def _responses_event(data: bytes, target: Target) -> dict[str, Any]:
    """One Responses stream event; ``error`` and ``response.failed`` raise."""
    event = _json_object(data, target, stream=True)
    kind = event.get("type")
    if kind == "error":
        # {"type": "error", "code", "message", "param"}; some servers nest them in "error"
        nested = event.get("error")
        raise _stream_error(nested if isinstance(nested, dict) else _without_type(event), target)
    if kind == "response.failed":
        response = event.get("response")
        failed = response.get("error") if isinstance(response, dict) else None
        raise _stream_error(failed if isinstance(failed, dict) else {}, target)
    return event


def _without_type(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "type"}


def _json_object(data: bytes, target: Target, *, stream: bool) -> dict[str, Any]:
    """A response body (or one stream event) as a JSON object, else a protocol error."""
    try:
        value = _decode(data)
    except msgspec.DecodeError as exc:
        what = "sent an invalid stream event" if stream else "answered with invalid JSON"
        raise UpstreamProtocolError(
            f"{target.deployment} {what}: {exc}", deployment=target.deployment
        ) from exc
    if not isinstance(value, dict):
        what = "sent a stream event" if stream else "answered with JSON"
        raise UpstreamProtocolError(
            f"{target.deployment} {what} that is not an object", deployment=target.deployment
        )
    return value


async def _read(response: Response, timeout_s: float) -> bytes:
    try:
        async with asyncio.timeout(max(timeout_s, 0.001)):
            return await response.read()
    except TimeoutError:
        raise HttpTimeoutError("the response body did not arrive in time") from None


def translate(exc: HttpError, deployment: str) -> UpstreamError:
    """The router's view of a transport failure."""
    message = f"{deployment}: {exc}"
    if isinstance(exc, HttpTimeoutError):
        return UpstreamTimeoutError(message, deployment=deployment)
    if isinstance(exc, HttpConnectError):
        return UpstreamConnectError(message, deployment=deployment)
    return UpstreamProtocolError(message, deployment=deployment)


async def _status_error(response: Response, target: Target) -> UpstreamStatusError:
    """An error status as the contract's error; see ``_scrub`` for what of the body is kept."""
    raw = await read_error_body(response, min(target.timeout_s, 10.0))
    try:
        body: Any = _decode(raw) if raw else None
    except msgspec.DecodeError:
        body = None  # an HTML page from a proxy, say: nothing the caller needs
    secrets = known_secrets(target.api_key, target.headers.values())
    return status_error(
        target.deployment,
        response.status,
        error_fields(body, secrets),
        retry_after_s=parse_retry_after(response.headers),
    )


def _stream_error(error: Any, target: Target) -> UpstreamStatusError:
    """An error event inside a stream (vLLM sends them) as the contract's error."""
    secrets = known_secrets(target.api_key, target.headers.values())
    return status_error(
        target.deployment, 502, error_fields({"error": error}, secrets), what="an error event"
    )


def parse_retry_after(headers: dict[str, str]) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), in seconds."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None
