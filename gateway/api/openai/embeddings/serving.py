"""``/v1/embeddings``: passed to the upstream as sent (``encoding_format``, ``dimensions``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from gateway.api.openai._serving import OpenAIServing
from gateway.api.openai.embeddings.protocol import EmbeddingRequest
from gateway.policy.pipeline import Endpoint
from gateway.providers import Target
from gateway.providers.routing import Deployment

__all__ = ["EmbeddingServing"]


class EmbeddingServing(OpenAIServing):
    endpoint: ClassVar[Endpoint] = "embeddings"
    path: ClassVar[str] = "/v1/embeddings"
    request_model = EmbeddingRequest
    model_type: ClassVar[Literal["chat", "embedding"]] = "embedding"
    can_stream: ClassVar[bool] = False

    def supports(self, deployment: Deployment) -> bool:
        return self._providers.embedding(deployment.kind) is not None

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        provider = self._providers.embedding(deployment.kind)
        assert provider is not None  # checked by supports() before routing
        return await provider.embed(target, body)
