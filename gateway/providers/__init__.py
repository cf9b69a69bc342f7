"""Provider adapters: OpenAI-compatible, Azure OpenAI, Anthropic."""

from __future__ import annotations

from gateway.providers._base import (
    ChatProvider,
    Target,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)

__all__ = [
    "ChatProvider",
    "Target",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
]
