"""``/v1/embeddings``: passed to the upstream as sent (``encoding_format``, ``dimensions``)."""

from __future__ import annotations

from typing import Any

from gateway.api.openai._serving import OpenAIServing
from gateway.providers import Target
from gateway.providers.routing import Deployment

__all__ = ["EmbeddingServing"]


class EmbeddingServing(OpenAIServing):
    """Routed only to deployments whose adapter serves ``embedding`` (``supports``)."""

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._providers.embedding(deployment.kind).embed(target, body)
