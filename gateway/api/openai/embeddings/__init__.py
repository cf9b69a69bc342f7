"""``/v1/embeddings``: the wire model, the serving object and the family entry."""

from __future__ import annotations

from gateway.api.openai._serving import Family
from gateway.api.openai.embeddings.protocol import EmbeddingRequest
from gateway.api.openai.embeddings.serving import EmbeddingServing
from gateway.policy.pipeline import Capabilities

__all__ = ["FAMILY", "EmbeddingRequest", "EmbeddingServing"]

FAMILY = Family(
    name="embeddings",
    path="/v1/embeddings",
    request_model=EmbeddingRequest,
    serving=EmbeddingServing,
    provider_capability="embedding",
    summary="Embeddings",
    description="A `list` of `embedding` objects (floats or base64 per `encoding_format`).",
    capabilities=Capabilities(pii="embeddings", answer_tokens=False),
    model_type="embedding",
    streams=False,
)
