"""Spans to an OTLP/HTTP collector, at a cost the gateway's hot path can carry.

OpenTelemetry's Python SDK keeps the span model, the sampler and the context here; what it
does after a span ends was measured at ~60 us of CPU per span (its batch processor's
locking, then building protobuf objects field by field): ~0.9 ms per traced chat request.
So the request path makes ``FastSpan``s, ended ones go to ``SpanQueue``, and the OTLP
``ExportTraceServiceRequest`` bytes are written by hand (``encode``: the protobuf wire
format, checked against OpenTelemetry's own protobuf classes in the tests): by the export
process (``_otlp_export``, ``tracing.export_process``) or by one thread of this process,
which posts them on a kept-alive connection. SDK spans (a worker's) take the thread.

``StageSpans`` are the cheapest kind: spans the gateway records after the fact for its
policy steps (a name, two times, a few attributes) without an SDK span object. They are
kept by the id of their parent and sent with it, so a request's tree goes out whole.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import struct
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor

from ingestion._otlp_export import ExportChild, Poster

__all__ = ["FastSpan", "SpanQueue", "SpanRecord", "StageSpan", "encode", "encode_record"]

_log = logging.getLogger(__name__)

_pack_q = struct.Struct("<Q").pack
_pack_d = struct.Struct("<d").pack


# -- the protobuf wire format -------------------------------------------------------------
_SMALL = [bytes((n,)) for n in range(0x80)]


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload  # (tags < 128: one byte)


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode("utf-8", "replace"))


def _any(value: Any) -> bytes:
    """An ``AnyValue``: string 1, bool 2, int 3, double 4, array 5."""
    if isinstance(value, str):
        return _text(1, value)
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _pack_d(value)
    if isinstance(value, list | tuple):
        return _field(5, b"".join(_field(1, _any(item)) for item in value))
    return _text(1, str(value))


_TAGS = {number: _varint(number << 3 | 2) for number in range(1, 16)}
# Encoded KeyValue fields by (field number, key, type, value) for values that repeat (methods,
# routes, model names, flags, small counts): most of a request's attributes, encoded once.
_PAIRS: dict[tuple[int, str, type, Any], bytes] = {}
_KEYS: dict[str, bytes] = {}
_MAX_CACHED = 8192
_SLICE = 16  # spans the export thread encodes between two offers of the GIL
_ENCODE_S = 0.005  # a FastSpan is encoded at most this long after it ended (handed to the
_HANDOVER_S = 0.05  # export process: this; marshalling is cheap, wake-ups are not) ...
_ENCODE_BATCH = 256  # ... or once this many wait


def _pair(number: int, key: str, value: Any) -> bytes:
    kind = type(value)
    cacheable = (
        (kind is str and len(value) <= 64) or kind is bool or (kind is int and 0 <= value < 1024)
    )
    if cacheable:
        cached = _PAIRS.get((number, key, kind, value))
        if cached is not None:
            return cached
    encoded_key = _KEYS.get(key)
    if encoded_key is None:
        encoded_key = _text(1, key)
        if len(_KEYS) < _MAX_CACHED:
            _KEYS[key] = encoded_key
    body = encoded_key + _field(2, _any(value))
    pair = _TAGS[number] + _varint(len(body)) + body
    if cacheable and len(_PAIRS) < _MAX_CACHED:
        _PAIRS[(number, key, kind, value)] = pair
    return pair


def _attributes(number: int, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated ``KeyValue`` under field ``number``."""
    if not attributes:
        return b""
    return b"".join([_pair(number, key, value) for key, value in attributes.items()])


_ID_TAGS = (b"\x0a\x10", b"\x12\x08", b"\x22\x08")  # trace id (16 bytes), span id, parent id
_KINDS = [b"\x30" + _varint(kind) for kind in range(6)]
_EMPTY_STATUS = b"\x7a\x00"  # field 15, an empty Status
_NAMES: dict[str, bytes] = {}


def _name(name: str) -> bytes:
    encoded = _NAMES.get(name)
    if encoded is None:
        encoded = _text(5, name)
        if len(_NAMES) < _MAX_CACHED:
            _NAMES[name] = encoded
    return encoded


def _span(
    trace_id: int | bytes,
    span_id: int,
    parent_id: int | bytes | None,
    name: str,
    kind: int,
    start_ns: int,
    end_ns: int,
    attributes: Mapping[str, Any] | None,
    events: Sequence[tuple[str, int, Mapping[str, Any] | None]] = (),
    status: tuple[int, str | None] = (0, None),
) -> bytes:
    """One ``Span`` message (``kind`` as OTLP numbers it: internal 1 ... consumer 5). The
    trace id and parent id may come encoded already (``_ids``): a request's spans share them."""
    parts = [
        trace_id if type(trace_id) is bytes else _ID_TAGS[0] + trace_id.to_bytes(16, "big"),  # type: ignore[union-attr]
        _ID_TAGS[1] + span_id.to_bytes(8, "big"),
    ]
    if parent_id:
        parts.append(
            parent_id if type(parent_id) is bytes else _ID_TAGS[2] + parent_id.to_bytes(8, "big")  # type: ignore[union-attr]
        )
    parts.append(_name(name))
    parts.append(_KINDS[kind])
    parts.append(b"\x39" + _pack_q(start_ns) + b"\x41" + _pack_q(end_ns))
    if attributes:
        parts.append(_attributes(9, attributes))
    for event_name, at_ns, event_attributes in events:
        body = b"\x09" + _pack_q(at_ns) + _text(2, event_name) + _attributes(3, event_attributes)
        parts.append(_field(11, body))
    code, message = status
    if code or message:
        status_body = (_text(2, message) if message else b"") + (
            b"\x18" + _varint(code) if code else b""
        )
        parts.append(_field(15, status_body))
    else:
        parts.append(_EMPTY_STATUS)
    return b"".join(parts)


def encode(resource: Mapping[str, Any], scope: tuple[str, str], spans: Iterable[bytes]) -> bytes:
    """An ``ExportTraceServiceRequest``: one resource, one scope, these encoded spans."""
    scope_message = _text(1, scope[0]) + (_text(2, scope[1]) if scope[1] else b"")
    scope_spans = _field(1, scope_message) + b"".join(_field(2, span) for span in spans)
    resource_spans = _field(1, _attributes(1, resource)) + _field(2, scope_spans)
    return _field(1, resource_spans)


# -- spans of the SDK, and the gateway's own stage spans ----------------------------------
# A span recorded after the fact (a policy step), sent with its parent: (name, start ns,
# end ns, attributes); its id is drawn when it is encoded, off the request's path.
StageSpan = tuple[str, int, int, Mapping[str, Any] | None]


class FastSpan(trace.Span):
    """A span of the gateway's request path, without the SDK's span object: ids, times and
    attributes in slots, its policy steps' spans in ``stages``; queued when it ends. The
    sampler still decides (``TracerProvider``'s), and it is an OpenTelemetry ``Span`` for
    the context: SDK spans under it, and ``traceparent``, name it as their parent."""

    __slots__ = (
        "_context",
        "_queue",
        "attributes",
        "end_ns",
        "events",
        "kind",
        "message",
        "name",
        "parent_id",
        "stages",
        "start_ns",
        "status",
    )

    def __init__(
        self,
        queue: SpanQueue,
        context: trace.SpanContext,
        parent_id: int | None,
        name: str,
        kind: int,
        attributes: dict[str, Any],
    ) -> None:
        self._queue = queue
        self._context = context
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.events: list[tuple[str, int, Mapping[str, Any] | None]] = []
        self.stages: list[StageSpan] = []  # appended to by ``ingestion.tracing.record_stage``
        self.status = 0
        self.message: str | None = None

    def get_span_context(self) -> trace.SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self.end_ns

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        self.events.append((name, timestamp or time.time_ns(), attributes))

    def update_name(self, name: str) -> None:
        self.name = name

    def set_status(self, status: Any, description: str | None = None) -> None:
        code = getattr(status, "status_code", status)
        self.status = int(code.value)
        self.message = getattr(status, "description", None) or description

    def record_exception(self, exception: BaseException, *args: Any, **kwargs: Any) -> None:
        self.add_event("exception", {"exception.type": type(exception).__name__})

    def add_link(self, context: Any, attributes: Any = None) -> None:
        return None

    def end(self, end_time: int | None = None) -> None:
        if not self.end_ns:
            self.end_ns = end_time or time.time_ns()
            self._queue.queue_fast(self)


# An ended FastSpan as plain values (marshalled to the export process): trace id, span id,
# parent id, name, kind, start ns, end ns, attributes, events, status code and message, stages.
SpanRecord = tuple[
    int, int, int | None, str, int, int, int, dict[str, Any], list[Any], int, str | None, list[Any]
]


def _record(span: FastSpan) -> SpanRecord:
    context = span._context
    return (
        context.trace_id,
        context.span_id,
        span.parent_id,
        span.name,
        span.kind,
        span.start_ns,
        span.end_ns,
        span.attributes,
        span.events,
        span.status,
        span.message,
        span.stages,
    )


def encode_record(record: SpanRecord) -> list[bytes]:
    """A FastSpan's ``Span`` message and its stage spans'."""
    trace_id, span_id, parent_id, name, kind, start_ns, end_ns = record[:7]
    attributes, events, status, message, stages = record[7:]
    encoded_trace = _ID_TAGS[0] + trace_id.to_bytes(16, "big")
    encoded = [
        _span(
            encoded_trace,
            span_id,
            parent_id,
            name,
            kind,
            start_ns,
            end_ns,
            attributes,
            events,
            (status, message),
        )
    ]
    if stages:
        parent = _ID_TAGS[2] + span_id.to_bytes(8, "big")
        encoded += [_stage(encoded_trace, parent, stage) for stage in stages]
    return encoded


def _sdk_span(span: Any) -> bytes:
    context = span.context
    parent = span.parent
    status = span.status
    return _span(
        context.trace_id,
        context.span_id,
        parent.span_id if parent is not None else None,
        span.name,
        span.kind.value + 1,
        span.start_time,
        span.end_time,
        span.attributes,
        [(event.name, event.timestamp, event.attributes) for event in span.events],
        (status.status_code.value, status.description),
    )


def _stage(trace_id: int | bytes, parent_id: int | bytes, stage: StageSpan) -> bytes:
    name, start_ns, end_ns, attributes = stage
    span_id = random.getrandbits(64) or 1
    return _span(trace_id, span_id, parent_id, name, 1, start_ns, end_ns, attributes)


class SpanQueue(SpanProcessor):
    """The SDK's span processor here: ended spans (and their stage spans) queued, exported
    by one thread every ``delay_s`` or once ``batch`` are waiting; past ``max_queue`` spans
    waiting, new ones are dropped (counted in the log) rather than slow a request."""

    def __init__(
        self,
        url: str,
        *,
        resource: Mapping[str, Any],
        scope: tuple[str, str],
        delay_s: float,
        timeout_s: float,
        max_queue: int,
        batch: int = 512,
        in_child: bool = False,
    ) -> None:
        self._resource = dict(resource)
        self._scope = scope
        self._delay_s = delay_s
        self._timeout_s = timeout_s
        self._max_queue = max_queue
        self._batch = batch
        self._spans: collections.deque[Any] = collections.deque()
        self._stages: dict[int, list[StageSpan]] = {}
        self._pending: list[FastSpan] = []  # ended, waiting for the loop's next encoding
        self._wake = threading.Event()
        self._stopped = False
        self._dropped = 0
        self._poster = Poster(url, timeout_s=timeout_s, pause_s=min(delay_s, 1.0))
        # FastSpans encoded and posted by a child process (``_otlp_export``), or here
        self._child = (
            ExportChild(
                {
                    "url": url,
                    "resource": self._resource,
                    "scope": list(scope),
                    "delay_s": delay_s,
                    "timeout_s": timeout_s,
                    "max_queue": max_queue,
                    "batch": batch,
                }
            )
            if in_child
            else None
        )
        self._wait_s = _ENCODE_S if self._child is None else _HANDOVER_S
        self._thread = threading.Thread(target=self._run, daemon=True, name="otlp-export")
        self._thread.start()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: Any) -> None:
        if not span.context.trace_flags.sampled:
            return  # (its stage spans were never kept: ``add_stage`` is for sampled parents)
        if len(self._spans) >= self._max_queue:
            self._dropped += 1
            self._stages.pop(span.context.span_id, None)
            return
        self._spans.append(span)
        if len(self._spans) >= self._batch:
            self._wake.set()

    def queue_fast(self, span: FastSpan) -> None:
        """``FastSpan.end``: in a batch a few ms later (as the request observer records
        metrics: in the gaps between requests), handed to the export process or encoded
        here for the export thread to post (encoding there held the GIL the loop needs)."""
        if len(self._spans) >= self._max_queue:
            self._dropped += 1
            return
        pending = self._pending
        pending.append(span)
        if len(pending) >= _ENCODE_BATCH:
            self._encode_pending()
        elif len(pending) == 1:
            try:
                asyncio.get_running_loop().call_later(self._wait_s, self._encode_pending)
            except RuntimeError:  # no loop in this thread: now
                self._encode_pending()

    def _encode_pending(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._child is not None:
            self._child.send([_record(span) for span in pending])
            return
        for span in pending:
            self._spans.append(encode_record(_record(span)))
        if len(self._spans) >= self._batch:
            self._wake.set()

    def add_stage(
        self, parent_id: int, name: str, started_ns: int, attributes: Mapping[str, Any] | None
    ) -> None:
        """A span from ``started_ns`` to now, kept until its parent ends (then sent with it)."""
        stage = (name, started_ns, time.time_ns(), attributes)
        self._stages.setdefault(parent_id, []).append(stage)

    def shutdown(self) -> None:
        self._encode_pending()  # (a loop's timer may not come again)
        if self._child is not None:
            self._child.close(self._timeout_s + 1)
        self._stopped = True
        self._wake.set()
        self._thread.join(self._timeout_s + 1)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._encode_pending()
        if self._child is not None:
            self._child.flush()
        self._export_all()
        return True

    # the export thread
    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._delay_s)
            self._wake.clear()
            self._export_all()
        self._export_all()
        self._poster.close()

    def _export_all(self) -> None:
        while self._spans:
            taken: list[bytes] = []
            encoded = 0
            while self._spans and len(taken) < self._batch:
                span = self._spans.popleft()
                if type(span) is list:  # a FastSpan's, encoded on the loop's thread already
                    taken += span
                    continue
                if encoded % _SLICE == 0:
                    # Let the event loop's thread have the GIL: left to the interpreter,
                    # this thread keeps it for its switch interval (5 ms) at a time while
                    # it encodes, and every request in the loop waits that long. (Between
                    # spans encoded already there is nothing to yield for: offering the
                    # GIL every few of those cost the loop more than it saved.)
                    time.sleep(0)
                encoded += 1
                taken.append(_sdk_span(span))
                context = span.context
                for stage in self._stages.pop(context.span_id, ()):
                    taken.append(_stage(context.trace_id, context.span_id, stage))
            self._post(encode(self._resource, self._scope, taken), len(taken))
        if self._dropped:
            _log.warning(
                "trace spans dropped: the export queue was full", extra={"spans": self._dropped}
            )
            self._dropped = 0

    def _post(self, body: bytes, count: int) -> None:
        self._poster.post(body, count)
