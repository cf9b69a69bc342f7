"""``POST /v1/messages``: Anthropic's Messages API in front, on any upstream, through chat's policy.

As ``/v1/responses`` does, the request is checked and turned into a chat completions body
before the hooks (``prepare``), so model allowances, tool permissions, quotas and PII masking
are chat's; any deployment serves it (an Anthropic one gets it translated back by its
adapter). The answer, after the response hooks (PII restored, tool calls checked), becomes an
Anthropic ``message`` or Anthropic's stream events. Errors, the gateway's own refusals
included, are in Anthropic's shape with the status codes its SDK maps to its exception
classes, and quota headers are also given under Anthropic's ``anthropic-ratelimit-*`` names.
The key comes as ``x-api-key`` (Anthropic's SDK, Claude Code) or ``Authorization: Bearer``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import msgspec

from gateway.api.http._exchange import Exchange
from gateway.api.http._validation import decode_object
from gateway.api.openai._serving import OpenAIServing, aclose, opened, stream_error
from gateway.api.openai.messages._request import chat_request
from gateway.api.openai.messages._response import message_from_chat
from gateway.api.openai.messages._stream import MessageStream, sse
from gateway.api.openai.messages.protocol import MessagesRequest, check_request
from gateway.platform.errors import GatewayError, InvalidRequestError
from gateway.policy.pipeline import Call
from gateway.policy.quotas import estimate_prompt_tokens
from gateway.providers import Target, UpstreamError
from gateway.providers.routing import Deployment, ModelRoute

__all__ = ["CountTokensServing", "MessagesServing", "anthropic_error"]

_encode = msgspec.json.Encoder().encode
_SSE = b"text/event-stream"
# Anthropic's error types by status (what its SDK maps to exception classes)
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
# Anthropic thinking carried by chat assistant messages (see docs/anthropic.md)
_REASONING = frozenset({"reasoning_content", "reasoning_signature", "redacted_reasoning"})
_BETA = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_RATE = re.compile(r"x-ratelimit-(limit|remaining|reset)-(requests|tokens)")
_DURATION = re.compile(r"(?:(\d+)m)?(?:([\d.]+)s)?(?:(\d+)ms)?")


@dataclass(frozen=True, slots=True)
class MessagesState:
    """One Messages request, kept in the call beside its chat-shaped ``body``.

    ``betas``: the client's ``anthropic-beta`` features, passed on to Anthropic deployments."""

    request: MessagesRequest
    betas: tuple[str, ...] = ()
    reasoning_history: bool = False  # earlier assistant turns carry thinking


def anthropic_error(exc: GatewayError) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}`` for a gateway error."""
    kind = _TYPES.get(exc.status_code) or (
        "api_error" if exc.status_code >= 500 else "invalid_request_error"
    )
    return _encode({"type": "error", "error": {"type": kind, "message": exc.message}})


class MessagesServing(OpenAIServing):
    """The Messages family's serving object (see the module docstring)."""

    async def prepare(self, call: Call, raw: bytes) -> ModelRoute:
        body = decode_object(raw)
        request = check_request(self.checked_body(body))
        call.model = request.model
        call.stream = self.wants_stream(body)
        route = self.resolve(call, request.model)
        call.body = chat_request(request, body)
        history = any(
            isinstance(m, dict) and m.keys() & _REASONING for m in call.body.get("messages", ())
        )
        call.put(MessagesState(request, _betas(call.headers.get("anthropic-beta")), history))
        return route

    def checked_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as ``check_request`` takes it (count_tokens needs no ``max_tokens``)."""
        return body

    def _upstream(self, call: Call, deployment: Deployment, target: Target) -> dict[str, Any]:
        call.deployment = deployment
        upstream = dict(call.body)
        upstream["model"] = target.upstream_model
        if deployment.kind == "anthropic":
            if "thinking" in upstream:  # Anthropic's own setting; the effort is its stand-in
                upstream.pop("reasoning_effort", None)
            return upstream
        # other upstreams: chat's reasoning_effort only, no Anthropic thinking in history, no
        # cache breakpoints on tools
        upstream.pop("thinking", None)
        tools = upstream.get("tools")
        if tools and any("cache_control" in tool for tool in tools):
            upstream["tools"] = [
                {k: v for k, v in tool.items() if k != "cache_control"} for tool in tools
            ]
        state = call.find(MessagesState)
        if state is not None and state.reasoning_history:
            upstream["messages"] = [_without_reasoning(m) for m in upstream["messages"]]
        return upstream

    # -- non-streaming ----------------------------------------------------------------
    async def _respond(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = _state(call)

        async def attempt(deployment: Deployment, target: Target) -> dict[str, Any]:
            body = self._upstream(call, deployment, target)
            target = _target(state, deployment, target)
            return await self._providers.chat(deployment.kind).chat(target, body)

        completion = await self._router.call(route, attempt, call.trace)
        call.usage.add_from(completion.get("usage"))
        await self._pipeline.check_response(call, completion)
        payload = _encode(message_from_chat(completion, model=state.request.model))
        exchange.unwatch()
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        await exchange.send_json(200, payload, self._headers(call))

    # -- streaming --------------------------------------------------------------------
    async def _stream(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = _state(call)
        stream = MessageStream(model=state.request.model)

        async def attempt(
            deployment: Deployment, target: Target
        ) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
            body = self._upstream(call, deployment, target)
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            target = _target(state, deployment, target)
            chunks = self._providers.chat(deployment.kind).stream_chat(target, body)
            return await opened(chunks, target)

        first, chunks = await self._router.call(route, attempt, call.trace)
        try:
            hooks = self._pipeline.chunk_hooks(call)
            call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
            sent[0] = True
            await exchange.start_stream(200, _SSE, self._headers(call, stream=True))
            call.first_byte_s = time.perf_counter() - call.started
            await _send(exchange, stream.start())
            chunk: dict[str, Any] | None = first
            try:
                while chunk is not None:
                    usage = chunk.get("usage")
                    if usage:
                        call.usage.add_from(usage)
                    if hooks:
                        await self._pipeline.check_chunk(call, chunk, hooks)
                    await _send(exchange, stream.feed(chunk))
                    if call.end_stream:  # a hook ended it (e.g. the budget is used up)
                        break
                    chunk = await anext(chunks, None)
            except (UpstreamError, GatewayError) as exc:
                error = stream_error(exc)
                call.error = error
                call.status = error.status_code
                exchange.unwatch()
                kind = _TYPES.get(error.status_code) or "api_error"
                await exchange.end_stream(sse(stream.error(kind, error.message)))
                return
        finally:
            await aclose(chunks)
        exchange.unwatch()
        await exchange.end_stream(b"".join(map(sse, stream.finish())))

    # -- Anthropic's shapes -----------------------------------------------------------
    def _headers(self, call: Call, *, stream: bool = False) -> list[tuple[str, str]]:
        headers = super()._headers(call, stream=stream)
        headers.append(("request-id", call.request_id))
        return _with_anthropic_limits(headers)

    async def _send_error(self, call: Call, exchange: Exchange, exc: GatewayError) -> None:
        headers = self._headers(call)
        headers.extend(exc.headers.items())
        await exchange.send_json(
            exc.status_code, anthropic_error(exc), _with_anthropic_limits(headers)
        )


class CountTokensServing(MessagesServing):
    """``POST /v1/messages/count_tokens``: the request's input tokens.

    It goes the way a message would (auth, allowances, tool checks, PII masking) and ends at
    the count: an Anthropic deployment counts it itself (its tokenizer, exact); for any other
    the gateway estimates it as quotas do. No usage is charged."""

    def checked_body(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"max_tokens": 1, **body}  # the one field a count does not take

    async def _respond(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = _state(call)

        async def attempt(deployment: Deployment, target: Target) -> int:
            body = self._upstream(call, deployment, target)
            provider = self._providers.chat(deployment.kind)
            if not isinstance(provider, TokenCounter):
                return estimate_prompt_tokens(body)
            return await provider.count_tokens(_target(state, deployment, target), body)

        tokens = await self._router.call(route, attempt, call.trace)
        exchange.unwatch()
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        await exchange.send_json(200, _encode({"input_tokens": tokens}), self._headers(call))


def _without_reasoning(message: Any) -> Any:
    if isinstance(message, dict) and message.keys() & _REASONING:
        return {k: v for k, v in message.items() if k not in _REASONING}
    return message


def _betas(header: str | None) -> tuple[str, ...]:
    """The ``anthropic-beta`` feature names (checked: they are forwarded as they are)."""
    if not header:
        return ()
    names = tuple(name.strip() for name in header.split(","))
    if len(header) > 512 or not all(_BETA.fullmatch(name) for name in names):
        raise InvalidRequestError(
            "anthropic-beta must be a comma-separated list of beta feature names",
            param="anthropic-beta",
        )
    return names


def _target(state: MessagesState, deployment: Deployment, target: Target) -> Target:
    """The deployment's target, with the client's betas added for an Anthropic upstream."""
    if not state.betas or deployment.kind != "anthropic":
        return target
    own = [name.strip() for name in target.headers.get("anthropic-beta", "").split(",")]
    betas = ",".join(dict.fromkeys(name for name in (*own, *state.betas) if name))
    return replace(target, headers={**target.headers, "anthropic-beta": betas})


@runtime_checkable
class TokenCounter(Protocol):
    """An adapter whose upstream counts a request's input tokens itself (Anthropic)."""

    async def count_tokens(self, target: Target, body: dict[str, Any]) -> int: ...


def _state(call: Call) -> MessagesState:
    state = call.find(MessagesState)
    if state is None:  # prepare() puts it; a missing one is this module's bug
        raise RuntimeError("a Messages call without its state")
    return state


async def _send(exchange: Exchange, events: list[dict[str, Any]]) -> None:
    if events:
        await exchange.send_chunk(b"".join(map(sse, events)))


def _with_anthropic_limits(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``x-ratelimit-*`` also under Anthropic's names (resets as RFC 3339 times)."""
    extra: list[tuple[str, str]] = []
    for name, value in headers:
        match = _RATE.fullmatch(name)
        if match is None:
            continue
        what, unit = match.groups()
        if what == "reset":
            value = _reset_time(value)
        extra.append((f"anthropic-ratelimit-{unit}-{what}", value))
    return headers + extra if extra else headers


def _reset_time(duration: str) -> str:
    """``1.5s`` / ``6m0s`` / ``20ms`` from now, as Anthropic writes resets."""
    match = _DURATION.fullmatch(duration)
    seconds = 0.0
    if match is not None:
        minutes, secs, millis = match.groups()
        seconds = int(minutes or 0) * 60 + float(secs or 0) + int(millis or 0) / 1000
    at = datetime.now(UTC) + timedelta(seconds=math.ceil(seconds))
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
