"""``IdempotencyGate``: ``Idempotency-Key`` on the requests that carry it, in either lane.

``asgi`` serves a Litestar route (``idempotent`` is the route middleware that calls it); the
body is digested as the route reads it, so an upload of any size is never held, and a
duplicate's body is read, digested and dropped. ``serve`` wraps the OpenAI serving core
(``POST /v1/responses``) around an ``Exchange``, whose body is in memory anyway.

The scope of a key is the API key that sent it: a request whose API key does not
authenticate passes through unrecorded (to its 401). The first answer is kept before it is
sent, so every answer a client saw can be replayed; replays carry ``idempotent-replayed:
true``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from gateway.api.http._asgi import Receive, Scope, Send
from gateway.api.http._exchange import Exchange, RequestHeaders, payload_too_large
from gateway.api.http.idempotency._recording import RecordingExchange, RecordingSend
from gateway.platform.errors import AuthenticationError, GatewayError, error_body
from gateway.platform.idempotency import (
    BodyDigest,
    Idempotency,
    IdempotentRequest,
    KeptAnswer,
    check_key,
)
from gateway.policy.auth import Authenticator, request_key

__all__ = ["HEADER", "REPLAYED", "IdempotencyGate"]

HEADER = "idempotency-key"
REPLAYED = ("idempotent-replayed", "true")  # as Stripe marks a replay
_REPLAYED_RAW = (REPLAYED[0].encode(), REPLAYED[1].encode())
_encode = msgspec.json.Encoder().encode

App = Callable[[Scope, Receive, Send], Awaitable[None]]


class IdempotencyGate:
    """Built once per process; ``max_body_bytes`` bounds the body of a duplicate it drains."""

    def __init__(
        self, idempotency: Idempotency, authenticator: Authenticator, *, max_body_bytes: int
    ) -> None:
        self._idempotency = idempotency
        self._authenticator = authenticator
        self._max_body = max_body_bytes

    async def _request(
        self, headers: Mapping[str, str], value: str, method: str, path: str
    ) -> IdempotentRequest | None:
        """The request's key and scope; None when its API key does not authenticate."""
        try:
            principal = await self._authenticator.authenticate(request_key(headers))
        except AuthenticationError:
            return None
        return IdempotentRequest(principal.key_id, check_key(value), method, path)

    # -- Litestar routes ------------------------------------------------------------
    async def asgi(self, scope: Scope, receive: Receive, send: Send, app: App, value: str) -> None:
        """Serve ``app`` (the route) for a request that carries the header ``value``."""
        headers = RequestHeaders(scope["headers"])
        query = scope.get("query_string") or b""
        path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        request = await self._request(headers, value, scope["method"], path)
        if request is None:
            await app(scope, receive, send)
            return
        digest = BodyDigest(headers.get("content-type"))
        claim = await self._idempotency.claim(request)
        if claim is None:
            if await _drain(receive, digest, self._max_body):
                answer = await self._idempotency.replay(request, digest.digest())
                await _send_answer(send, answer)
            return
        async with claim:

            async def digesting() -> dict[str, Any]:
                message: dict[str, Any] = await receive()
                if message["type"] == "http.request":
                    last = not message.get("more_body", False)
                    digest.feed(message.get("body", b""), last=last)
                return message

            recording = RecordingSend(send)
            await app(scope, digesting, recording)
            first = recording.answer() if digest.complete else None
            await claim.settle(first, digest.digest())
            await recording.flush()

    # -- the OpenAI serving core ----------------------------------------------------
    async def serve(
        self,
        exchange: Exchange,
        run: Callable[[Exchange], Awaitable[None]],
        *,
        path: str,
        max_body_bytes: int,
    ) -> None:
        """Serve ``run`` (the serving core) for an exchange that carries the header."""
        headers = exchange.headers
        try:
            request = await self._request(headers, headers[HEADER], exchange.method, path)
            if request is None:
                await run(exchange)
                return
            body = await exchange.read_body(max_body_bytes)
            digest = BodyDigest(headers.get("content-type"))
            digest.feed(body, last=True)
            claim = await self._idempotency.claim(request)
            if claim is None:
                answer = await self._idempotency.replay(request, digest.digest())
                await exchange.send_json(answer.status, answer.body, [REPLAYED])
                return
        except GatewayError as exc:
            await exchange.send_json(exc.status_code, _error(exc), exc.headers.items())
            return
        async with claim:

            async def settle(answer: KeptAnswer | None) -> None:
                await claim.settle(answer, digest.digest())

            await run(RecordingExchange(exchange, body, settle))


async def _drain(receive: Receive, digest: BodyDigest, limit: int) -> bool:
    """Read a duplicate's body into its digest; False when the client went away."""
    size = 0
    while not digest.complete:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        piece = message.get("body", b"")
        size += len(piece)
        if size > limit:
            raise payload_too_large(limit)
        digest.feed(piece, last=not message.get("more_body", False))
    return True


async def _send_answer(send: Send, answer: KeptAnswer) -> None:
    headers = [(b"content-length", str(len(answer.body)).encode()), _REPLAYED_RAW]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _error(exc: GatewayError) -> bytes:
    return _encode(error_body(exc.message, exc.error_type, param=exc.param, code=exc.code))
