"""``/v1/completions``: the legacy prompt API, for providers that still serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from gateway.api.openai._serving import OpenAIServing
from gateway.api.openai.completions.protocol import CompletionRequest
from gateway.policy.pipeline import Endpoint
from gateway.providers import CompletionProvider, Target
from gateway.providers.routing import Deployment

__all__ = ["CompletionServing"]


class CompletionServing(OpenAIServing):
    endpoint: ClassVar[Endpoint] = "completions"
    path: ClassVar[str] = "/v1/completions"
    request_model = CompletionRequest

    def supports(self, deployment: Deployment) -> bool:
        return self._providers.completion(deployment.kind) is not None

    def _provider(self, deployment: Deployment) -> CompletionProvider:
        provider = self._providers.completion(deployment.kind)
        assert provider is not None  # checked by supports() before routing
        return provider

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._provider(deployment).complete(target, body)

    def stream_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        return self._provider(deployment).stream_complete(target, body)
