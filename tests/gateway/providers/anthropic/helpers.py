"""Small helpers shared by the Anthropic adapter tests."""

from __future__ import annotations

from typing import Any

from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider

__all__ = ["collect", "user"]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def collect(
    provider: AnthropicProvider, target: Target, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every chunk of one stream."""
    return [chunk async for chunk in provider.stream_chat(target, body)]
