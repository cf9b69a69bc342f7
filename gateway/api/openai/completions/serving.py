"""``/v1/completions``: the legacy prompt API, for providers that still serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gateway.api.openai._serving import OpenAIServing
from gateway.providers import Target
from gateway.providers.routing import Deployment

__all__ = ["CompletionServing"]


class CompletionServing(OpenAIServing):
    """Routed only to deployments whose adapter serves ``completion`` (``supports``)."""

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._providers.completion(deployment.kind).complete(target, body)

    def stream_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        return self._providers.completion(deployment.kind).stream_complete(target, body)
