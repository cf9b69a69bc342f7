"""Route middleware: ``@post(..., middleware=[idempotent])`` on each route that creates something.

A request without the header costs one look through its header list. The gate
(``IdempotencyGate``) is what the app's lifespan put in ``app.state.idempotency``.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.api.http.idempotency._gate import HEADER, IdempotencyGate
from gateway.platform.errors import InvalidRequestError

__all__ = ["idempotent", "refuses_idempotency"]

_HEADER = HEADER.encode()


def _value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return str(value.decode("latin-1"))
    return None


def idempotent(app: ASGIApp) -> ASGIApp:
    """Replay the first answer to a retry with the same ``Idempotency-Key`` (see the gate)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        value = _value(scope)
        if value is None:
            await app(scope, receive, send)
            return
        gate: IdempotencyGate = scope["litestar_app"].state.idempotency
        await gate.asgi(scope, receive, send, app, value)  # type: ignore[arg-type]

    return middleware


def refuses_idempotency(app: ASGIApp) -> ASGIApp:
    """For a creating route whose answer must not be kept (a new API key's secret): a request
    with ``Idempotency-Key`` is a 400, never a silent run without the promise."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if _value(scope) is not None:
            raise InvalidRequestError(
                "Idempotency-Key is not accepted here: a replay would have to show the new "
                "secret again, and the gateway never stores secrets (send the request without "
                "it; list the keys to see whether a lost answer created one)",
                param="Idempotency-Key",
                code="idempotency_key_not_supported",
            )
        await app(scope, receive, send)

    return middleware
