"""``/v1/completions``: the wire model, the serving object and the family entry."""

from __future__ import annotations

from gateway.api.openai._serving import Family
from gateway.api.openai.completions.protocol import CompletionRequest
from gateway.api.openai.completions.serving import CompletionServing
from gateway.policy.pipeline import Capabilities

__all__ = ["FAMILY", "CompletionRequest", "CompletionServing"]

FAMILY = Family(
    name="completions",
    path="/v1/completions",
    request_model=CompletionRequest,
    serving=CompletionServing,
    provider_capability="completion",
    summary="Text completion (the legacy prompt API)",
    description="A `text_completion` object, or with `stream: true` server-sent chunks.",
    capabilities=Capabilities(pii="completions", pii_output="text"),
)
