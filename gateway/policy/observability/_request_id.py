"""Every HTTP response carries ``X-Request-ID``, whichever route (or none) answered it."""

from __future__ import annotations

from typing import Any

from gateway.policy.observability._context import REQUEST_ID, accept_request_id

__all__ = ["RequestIdMiddleware"]

_HEADER = b"x-request-id"


class RequestIdMiddleware:
    """Pure ASGI: the client's ``X-Request-ID`` when it is a sane token, else a new one.

    Set in ``REQUEST_ID`` while the request is served (every log line names it) and added to
    the response unless the route already sent one (the OpenAI routes do, for the same id).
    """

    def __init__(self, app: Any) -> None:
        self.app = app  # named as uvicorn's middleware name it: the front looks through it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                presented = value.decode("latin-1")
                break
        request_id = accept_request_id(presented)
        raw = request_id.encode("ascii")

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                if not any(name.lower() == _HEADER for name, _ in headers):
                    headers.append((_HEADER, raw))
                    message = {**message, "headers": headers}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
