"""The request class of the app: JSON bodies that crash the decoder become a clear 400."""

from __future__ import annotations

from typing import Any

from litestar import Request

from gateway.api.http._validation import undecodable

__all__ = ["GatewayRequest"]


class GatewayRequest(Request[Any, Any, Any]):
    """Litestar's request, with the two decoder failures it leaves as 500s translated.

    msgspec raises ``RecursionError`` on deeply nested JSON and ``UnicodeDecodeError`` on
    invalid UTF-8 inside a string; Litestar only translates ``msgspec.DecodeError``.
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except (UnicodeDecodeError, RecursionError) as exc:
            raise undecodable(exc) from exc
