"""``ingestion._otlp.encode``: the OTLP bytes we write by hand decode, with OpenTelemetry's
own protobuf classes, to the same message its own encoder builds from the same spans."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from ingestion._otlp import _sdk_span, encode


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _spans() -> tuple[list[ReadableSpan], Resource]:
    resource = Resource.create({"service.name": "t", "deployment.environment": "ü-test"})
    provider = TracerProvider(resource=resource)
    kept = _Keep()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("ragway", "1.2.3")
    attributes: dict[str, Any] = {
        "text": "héllo \u2603",
        "empty": "",
        "yes": True,
        "no": False,
        "count": 3,
        "negative": -42,
        "big": 2**62,
        "ratio": 0.25,
        "names": ["stop", "length"],
        "numbers": [1, 2, 3],
    }
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=attributes) as root:
        root.add_event("ragway.fallback", {"ragway.from": "a", "ragway.to": "b"})
        root.add_event("bare")
        for kind in (SpanKind.CLIENT, SpanKind.CONSUMER, SpanKind.PRODUCER, SpanKind.INTERNAL):
            with tracer.start_as_current_span(f"child {kind.name}", kind=kind) as child:
                child.set_status(Status(StatusCode.ERROR, "it broke"))
        with tracer.start_as_current_span("ok") as ok:
            ok.set_status(Status(StatusCode.OK))
    trace.get_tracer_provider()  # (the global one is untouched)
    return kept.spans, resource


def test_hand_encoded_spans_match_opentelemetry_s_encoder() -> None:
    spans, resource = _spans()
    ours = ExportTraceServiceRequest()
    ours.ParseFromString(
        encode(resource.attributes, ("ragway", "1.2.3"), [_sdk_span(span) for span in spans])
    )
    theirs = encode_spans(spans)
    assert len(ours.resource_spans) == len(theirs.resource_spans) == 1
    mine, official = ours.resource_spans[0], theirs.resource_spans[0]
    assert sorted(mine.resource.attributes, key=str) == sorted(
        official.resource.attributes, key=str
    )
    assert mine.scope_spans[0].scope.name == official.scope_spans[0].scope.name == "ragway"
    assert mine.scope_spans[0].scope.version == "1.2.3"
    ours_by_id = {s.span_id: s for s in mine.scope_spans[0].spans}
    theirs_by_id = {s.span_id: s for s in official.scope_spans[0].spans}
    assert ours_by_id.keys() == theirs_by_id.keys()
    for span_id, expected in theirs_by_id.items():
        got = ours_by_id[span_id]
        expected.ClearField("flags")  # the parent-is-remote bits, which we do not send
        assert got == expected, (got, expected)
