"""OpenTelemetry traces for every ragway process: set up once, or not at all.

``setup(settings.tracing, process=...)`` builds the SDK's tracer provider with an OTLP/HTTP
(protobuf) exporter behind a batching processor when an endpoint is configured, and returns
the tracer; without one it returns None and nothing else is touched. Code that traces reads
``tracer()`` once per unit of work and does nothing more when it is None, so tracing off
costs a module attribute read.

W3C trace context crosses process boundaries as text: ``inject`` writes the current span's
``traceparent`` (and ``tracestate``) into a carrier (HTTP headers to an upstream, the options
of a Dramatiq message), ``extract`` reads one back. ``current_ids`` gives the current span's
trace and span ids as hex, for log lines and metric exemplars.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from importlib import metadata
from typing import Any

import dramatiq
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from configs import TracingSettings, join_traces

__all__ = [
    "Context",
    "MessageSpans",
    "captures_content",
    "current_ids",
    "extract",
    "inject",
    "record_stage",
    "setup",
    "shutdown",
    "span",
    "start_span",
    "tracer",
]

_log = logging.getLogger(__name__)

_tracer: Tracer | None = None
_provider: Any = None  # the SDK's TracerProvider, once set up
_propagator = TraceContextTextMapPropagator()  # W3C traceparent / tracestate only
_baggage: Any = None  # W3C baggage, read and forwarded only when the settings allow it
_content = False  # tracing.capture_content
_queue: Any = None  # ended spans on their way to the collector (``_otlp.SpanQueue``)
_sampler_of: Any = None  # the provider's sampler, which decides for fast spans too
_fast: Any = None  # ``_otlp.FastSpan``, once set up
# "always" (always_on) / "parent" (parentbased_always_on): the sampler's answer is known
# without asking it (a kept span, unless a parent-based one's parent was dropped)
_keeps_all: str | None = None
_SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED)


def tracer() -> Tracer | None:
    """This process's tracer; None when tracing is off."""
    return _tracer


def setup(settings: TracingSettings, *, process: str) -> Tracer | None:
    """Start exporting spans per ``settings`` (no endpoint: nothing, None). Once per process;
    a second call returns the first one's tracer."""
    global _tracer, _provider, _baggage, _content, _queue, _sampler_of, _fast, _keeps_all
    url = settings.spans_url()
    if url is None:
        return None
    if _tracer is not None:
        return _tracer
    # Imported here: a process without tracing never loads the SDK.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from ingestion._otlp import FastSpan, SpanQueue

    attributes: dict[str, Any] = {
        "service.name": settings.service_name or f"ragway-{process}",
        "service.namespace": "ragway",
        "service.version": _version(),
        "service.instance.id": f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        **settings.resource_attributes,
    }
    resource = Resource.create(attributes)
    _sampler_of = _sampler(settings)
    _keeps_all = {"always_on": "always", "parentbased_always_on": "parent"}.get(settings.sampler)
    _fast = FastSpan
    provider = TracerProvider(resource=resource, sampler=_sampler_of)
    _queue = SpanQueue(
        url,
        resource=resource.attributes,
        scope=("ragway", _version()),
        delay_s=settings.schedule_delay_ms / 1000,
        timeout_s=settings.export_timeout_s,
        max_queue=settings.max_queue_size,
        in_child=settings.export_process,
    )
    provider.add_span_processor(_queue)
    if settings.accept_baggage:
        from opentelemetry.baggage.propagation import W3CBaggagePropagator

        _baggage = W3CBaggagePropagator()
    _provider = provider
    _content = settings.capture_content
    _tracer = provider.get_tracer("ragway", _version())
    join_traces(current_ids)  # every JSON log line inside a span names it
    _log.info("tracing on", extra={"endpoint": url, "sampler": settings.sampler})
    return _tracer


def start_span(
    name: str,
    *,
    kind: SpanKind,
    attributes: dict[str, Any],
    context: Context | None = None,
) -> trace.Span:
    """A span of the request path (the server span, an upstream attempt): the provider's
    sampler decides, its parent is ``context``'s span (a client's, extracted) or the current
    one; a ``FastSpan`` when kept, a non-recording span (ids only, for ``traceparent``) when
    not. Tracing must be set up."""
    parent = trace.get_current_span(context).get_span_context()
    valid = parent.is_valid
    trace_id = parent.trace_id if valid else random.getrandbits(128)
    span_id = random.getrandbits(64) or 1
    if _keeps_all and (not valid or _keeps_all == "always" or parent.trace_flags.sampled):
        state = parent.trace_state if valid else None  # (what the SDK's samplers pass on)
    else:
        decision = _sampler_of.should_sample(context, trace_id, name, kind, attributes)
        state = decision.trace_state
        if not decision.decision.is_sampled():
            state = parent.trace_state if valid else None
            return trace.NonRecordingSpan(
                trace.SpanContext(trace_id, span_id, False, trace.TraceFlags(0), state)
            )
    sampled = trace.SpanContext(trace_id, span_id, False, _SAMPLED, state)
    parent_id = parent.span_id if valid else None
    span: trace.Span = _fast(_queue, sampled, parent_id, name, kind.value + 1, attributes)
    return span


def current_span() -> Any:
    """The current span (read once by a caller that records several stages under it)."""
    return trace.get_current_span()


def record_stage(
    name: str, started_ns: int, attributes: Mapping[str, Any] | None, parent: Any = None
) -> None:
    """A child of ``parent`` (default: the current span) from ``started_ns`` to now,
    recorded after the fact without an SDK span (a policy step: microseconds, not tens)."""
    queue = _queue
    if queue is None:
        return
    current: Any = parent if parent is not None else trace.get_current_span()
    if type(current) is _fast:
        current.stages.append((name, started_ns, time.time_ns(), attributes))
        return
    parent = current.get_span_context()
    if parent.is_valid and parent.trace_flags.sampled:
        queue.add_stage(parent.span_id, name, started_ns, attributes)


def captures_content() -> bool:
    """Whether spans may carry prompts and completions (as the upstream saw them: masked)."""
    return _content and _tracer is not None


def shutdown() -> None:
    """Export what is pending and stop (a process's last step)."""
    global _tracer, _provider, _baggage, _queue
    if _provider is not None:
        _provider.shutdown()
    _tracer = None
    _provider = None
    _baggage = None
    _queue = None
    join_traces(None)


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the current span as hex; None outside a span that is kept
    (a span the sampler dropped is never exported: nothing should point to it)."""
    if _tracer is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid or not span_context.trace_flags.sampled:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def inject(carrier: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the current (or ``context``'s) span as ``traceparent`` (and its ``tracestate``)
    into ``carrier``: what the SDK's W3C propagator writes, without its generic setter."""
    if _tracer is None:
        return
    span_context = trace.get_current_span(context).get_span_context()
    if span_context.is_valid:
        carrier["traceparent"] = (
            f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
            f"{span_context.trace_flags:02x}"
        )
        if span_context.trace_state:
            carrier["tracestate"] = span_context.trace_state.to_header()
    if _baggage is not None:
        _baggage.inject(carrier, context=context)


def extract(carrier: Mapping[str, str], *, baggage: bool = True) -> Context | None:
    """The remote parent a ``traceparent`` in ``carrier`` names (None: none, or off); its
    ``baggage`` too when the settings accept it (and ``baggage``)."""
    if _tracer is None:
        return None
    found = None
    if "traceparent" in carrier:
        found = _propagator.extract(carrier, context=otel_context.Context())
    if baggage and _baggage is not None and "baggage" in carrier:
        found = _baggage.extract(carrier, context=found or otel_context.Context())
    return found


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A child span of the current one around a block (None inside when tracing is off);
    an exception leaving the block marks it failed."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


class MessageSpans(dramatiq.Middleware):
    """A consumer span around each Dramatiq message a worker runs, continuing the
    ``traceparent`` the relay put in its options (the trace of the request that staged it)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_process_message(self, broker: Any, message: Any) -> None:
        if _tracer is None:
            return
        from opentelemetry.trace import SpanKind

        parent = extract(message.options, baggage=False)
        span = _tracer.start_span(
            f"process {message.actor_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "ragway.actor": message.actor_name,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        self._local.running = (span, token)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        running = getattr(self._local, "running", None)
        if running is None:
            return
        self._local.running = None
        span, token = running
        otel_context.detach(token)
        if exception is not None:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", type(exception).__name__)
            span.set_status(Status(StatusCode.ERROR, str(exception)[:200]))
        span.end()

    after_skip_message = after_process_message


def _sampler(settings: TracingSettings) -> Any:
    from opentelemetry.sdk.trace import sampling

    ratio = settings.sampler_arg
    return {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
        "parentbased_always_on": sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }[settings.sampler]


def _version() -> str:
    try:
        return metadata.version("ragway")
    except metadata.PackageNotFoundError:
        return "0"
