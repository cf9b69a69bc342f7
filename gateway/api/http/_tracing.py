"""A server span for every HTTP request the OpenAI servings do not trace themselves (files,
vector stores, batches, admin, the console): continuing a client's ``traceparent``, named by
the route's template (``POST /v1/files``, ``GET /v1/files/{file_id:str}``), ended with the
status. Probes and scrapes (``/healthz``, ``/readyz``, ``/metrics``) make none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.api.http._asgi import Receive, Scope, Send
from gateway.platform import tracing

__all__ = ["route_spans"]

_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
_CARRIED = (b"traceparent", b"tracestate", b"baggage")


def route_spans(served: Iterable[str]) -> Any:
    """Litestar middleware (a factory of ASGI apps); ``served``: paths whose servings make
    their own server span."""
    skip = _QUIET | frozenset(served)

    def middleware(app: Any) -> Any:
        async def traced(scope: Scope, receive: Receive, send: Send) -> None:
            tracer = tracing.tracer()
            template = scope.get("path_template") or scope.get("path", "")
            if tracer is None or scope["type"] != "http" or template in skip:
                await app(scope, receive, send)
                return
            method = scope.get("method", "GET")
            carrier = {
                name.decode(): value.decode("latin-1")
                for name, value in scope.get("headers", ())
                if name in _CARRIED
            }
            span, token = tracing.start_server_span(
                tracer,
                f"{method} {template}",
                carrier,
                {"http.request.method": method, "http.route": template, "url.path": scope["path"]},
            )
            status = [0]

            async def watched(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            error: str | None = None
            try:
                await app(scope, receive, watched)
            except BaseException as exc:
                error = type(exc).__name__
                raise
            finally:
                tracing.deactivate(token)
                span.set_attribute("http.response.status_code", status[0])
                if error is None and status[0] >= 500:
                    error = str(status[0])
                tracing.end_span(span, error=error)

        return traced

    return middleware
