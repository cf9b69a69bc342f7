"""``/v1/chat/completions``: chat through any provider kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gateway.api.openai._serving import OpenAIServing
from gateway.providers import Target
from gateway.providers.routing import Deployment

__all__ = ["ChatServing"]


class ChatServing(OpenAIServing):
    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._providers.chat(deployment.kind).chat(target, body)

    def stream_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        return self._providers.chat(deployment.kind).stream_chat(target, body)
