"""Provider adapters: OpenAI-compatible, Azure OpenAI, Anthropic."""

from __future__ import annotations

from gateway.providers._azure import AzureOpenAIProvider
from gateway.providers._base import (
    ChatProvider,
    CompletionProvider,
    EmbeddingProvider,
    Provider,
    ProviderCapability,
    ResponsesProvider,
    Target,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers._openai import OpenAIProvider
from gateway.providers._registry import ProviderRegistry
from gateway.providers._upstream import open_http_client, proxy_rules, transport_options

__all__ = [
    "AzureOpenAIProvider",
    "ChatProvider",
    "CompletionProvider",
    "EmbeddingProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderCapability",
    "ProviderRegistry",
    "ResponsesProvider",
    "Target",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "open_http_client",
    "proxy_rules",
    "transport_options",
]
