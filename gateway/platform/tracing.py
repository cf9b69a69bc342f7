"""The gateway's spans: names, attributes (OpenTelemetry's HTTP and GenAI conventions) and
the few calls every layer makes; the SDK set-up is ``ingestion.tracing``.

Every function takes the tracer a caller read once (None: tracing off, and the caller does
not get here). Spans hold ids, names, numbers and timings: never a key, never prompt or
completion text (``tracing.capture_content`` is the one exception, after PII masking).
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ingestion import tracing
from ingestion.tracing import captures_content, inject, record_stage, start_span, tracer

T = TypeVar("T")

__all__ = [
    "OPERATIONS",
    "PROVIDERS",
    "Span",
    "SpanKind",
    "Tracer",
    "activate",
    "captures_content",
    "carried",
    "current_span",
    "deactivate",
    "end_span",
    "host_of",
    "inject",
    "note_answer",
    "record_stage",
    "start_server_span",
    "start_span",
    "tracer",
]

# Call.endpoint -> gen_ai.operation.name
OPERATIONS: Mapping[str, str] = {
    "chat.completions": "chat",
    "responses": "chat",
    "messages": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "responses.input_tokens": "count_tokens",
    "messages.count_tokens": "count_tokens",
}
# deployment provider kind -> gen_ai.provider.name
PROVIDERS: Mapping[str, str] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
}


def start_server_span(
    tracer: Tracer,
    name: str,
    headers: Mapping[str, str],
    attributes: dict[str, Any],
) -> tuple[Span, object]:
    """The request's server span, continuing a client's ``traceparent``, made current;
    returns it and the token ``deactivate`` takes."""
    parent = tracing.extract(headers)
    span = start_span(name, kind=SpanKind.SERVER, attributes=attributes, context=parent)
    return span, activate(span, parent)


def activate(span: Span, parent: otel_context.Context | None = None) -> object:
    """Make ``span`` current (its children nest under it; ``traceparent`` names it)."""
    return otel_context.attach(trace.set_span_in_context(span, parent))


def deactivate(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]


def current_span() -> Span:
    return trace.get_current_span()


def end_span(span: Span, *, error: str | None = None, message: str | None = None) -> None:
    """End ``span``; ``error`` (``error.type``) marks it failed."""
    if error is not None:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR, message))
    span.end()


def note_answer(trace: Any, answer: Mapping[str, Any]) -> None:
    """The model and finish reasons of an OpenAI-shaped answer (or chunk), for the attempt's
    span (``trace`` is the call's ``RouteTrace``)."""
    model = answer.get("model")
    if isinstance(model, str) and trace.response_model is None:
        trace.response_model = model
    for choice in answer.get("choices") or ():
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        if isinstance(reason, str):
            trace.finish_reasons.append(reason)
        if trace.output is not None and isinstance(choice, dict):
            message = choice.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                trace.output.append(message["content"])


def carried(coroutine: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
    """``coroutine`` under the span current where this is called (for a coroutine handed to
    an event loop in another thread, which does not share this thread's context)."""
    carried_context = otel_context.get_current()

    async def run() -> T:
        token = otel_context.attach(carried_context)
        try:
            return await coroutine
        finally:
            otel_context.detach(token)

    return run()


@lru_cache(maxsize=256)  # (a deployment's base URL: a few per process)
def host_of(url: str) -> str:
    """``server.address`` of an upstream's base URL."""
    return urlsplit(url).hostname or ""
