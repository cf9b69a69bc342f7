"""Provider adapters by kind, built once per process around the shared upstream client.

Adding a provider kind: one entry in ``_FACTORIES`` (and its settings model in
``configs.DeploymentSettings``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import cast

from gateway.providers._azure import AzureOpenAIProvider
from gateway.providers._base import (
    CompletionProvider,
    EmbeddingProvider,
    Provider,
    ProviderCapability,
    ResponsesProvider,
)
from gateway.providers._openai import OpenAIProvider
from gateway.providers.http import HttpClient

__all__ = ["ProviderRegistry"]


def _anthropic(client: HttpClient) -> Provider:
    # imported only when a deployment uses it; shares the process's one upstream pool
    from gateway.providers.anthropic import AnthropicProvider

    return AnthropicProvider(client=client)


_FACTORIES: Mapping[str, Callable[[HttpClient], Provider]] = {
    "openai": lambda client: OpenAIProvider(client=client),
    "azure": lambda client: AzureOpenAIProvider(client=client),
    "anthropic": _anthropic,
}


class ProviderRegistry:
    """The adapters of the provider kinds in use, and what each can serve."""

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = dict(providers)

    @classmethod
    def open(cls, kinds: Iterable[str], *, client: HttpClient) -> ProviderRegistry:
        providers: dict[str, Provider] = {}
        for kind in sorted(set(kinds)):
            factory = _FACTORIES.get(kind)
            if factory is None:
                raise ValueError(f"unknown provider kind {kind!r}")
            providers[kind] = factory(client)
        return cls(providers)

    def serves(self, kind: str, capability: ProviderCapability) -> bool:
        """Whether kind ``kind``'s adapter offers ``capability``."""
        provider = self._providers.get(kind)
        return provider is not None and capability in provider.capabilities

    def chat(self, kind: str) -> Provider:
        return self._providers[kind]

    def completion(self, kind: str) -> CompletionProvider:
        return cast(CompletionProvider, self._capable(kind, "completion"))

    def embedding(self, kind: str) -> EmbeddingProvider:
        return cast(EmbeddingProvider, self._capable(kind, "embedding"))

    def responses(self, kind: str) -> ResponsesProvider:
        """The adapter that posts Responses bodies to the upstream's own ``/responses``."""
        return cast(ResponsesProvider, self._capable(kind, "responses"))

    def _capable(self, kind: str, capability: ProviderCapability) -> Provider:
        provider = self._providers[kind]
        if capability not in provider.capabilities:
            raise LookupError(f"provider kind {kind!r} does not serve {capability}")
        return provider
