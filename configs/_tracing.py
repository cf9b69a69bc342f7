"""Settings of OpenTelemetry traces: where spans go, which are kept, what they may carry.

The standard ``OTEL_*`` variables set them too (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``,
``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_RESOURCE_ATTRIBUTES``), so a deployment configured the way
every OpenTelemetry service is works unchanged. No endpoint: no tracing at all.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from configs._strict import Strict

__all__ = ["TracingSettings"]

Sampler = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]


class TracingSettings(Strict):
    """Traces exported over OTLP/HTTP (protobuf) when ``endpoint`` (or ``traces_endpoint``)
    is set; otherwise nothing is recorded and nothing costs anything."""

    endpoint: str | None = Field(
        default=None,
        description="the collector's OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go "
        "to <endpoint>/v1/traces",
    )
    traces_endpoint: str | None = Field(
        default=None,
        description="the full URL spans are posted to (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); "
        "wins over endpoint",
    )
    service_name: str | None = Field(
        default=None,
        description="service.name (OTEL_SERVICE_NAME); default ragway-gateway / ragway-worker",
    )
    sampler: Sampler = Field(
        default="parentbased_always_on",
        description="which traces are kept (OTEL_TRACES_SAMPLER); parentbased_*: a client's "
        "sampled flag is followed",
    )
    sampler_arg: float = Field(
        default=1.0, ge=0, le=1, description="the ratio of the *traceidratio samplers"
    )
    resource_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="more resource attributes (OTEL_RESOURCE_ATTRIBUTES: key=value,key=value)",
    )
    export_timeout_s: float = Field(default=10.0, gt=0, le=120, description="one export call")
    schedule_delay_ms: int = Field(
        default=1000,
        ge=10,
        le=60_000,
        description="ended spans are exported at least this often (OTEL_BSP_SCHEDULE_DELAY)",
    )
    max_queue_size: int = Field(
        default=8192, ge=64, le=1_000_000, description="spans waiting for export (then dropped)"
    )
    export_process: bool = Field(
        default=True,
        description="the gateway's request spans are encoded and posted by a child process "
        "(the event loop's thread only hands them over); false: by a thread of the process",
    )
    capture_content: bool = Field(
        default=False,
        description="record prompts and answers on upstream spans, as the upstream saw them "
        "(PII masked); off: never",
    )
    accept_baggage: bool = Field(
        default=False,
        description="read a client's W3C baggage header (off: ignored, never forwarded)",
    )

    @field_validator("resource_attributes", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """``OTEL_RESOURCE_ATTRIBUTES``'s form, ``key=value,key=value``, as a mapping."""
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for part in value.split(","):
            key, sep, item = part.partition("=")
            if not part.strip():
                continue
            if not sep or not key.strip():
                raise ValueError(f"expected key=value pairs separated by commas, got {part!r}")
            pairs[key.strip()] = item.strip()
        return pairs

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint or self.traces_endpoint)

    def spans_url(self) -> str | None:
        if self.traces_endpoint:
            return self.traces_endpoint
        if self.endpoint:
            return self.endpoint.rstrip("/") + "/v1/traces"
        return None
