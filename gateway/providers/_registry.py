"""Provider adapters by kind, built once per process around the shared upstream clients.

Adding a provider kind: one entry in ``_FACTORIES`` (and the kind in
``configs.DeploymentSettings.provider``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from typing import Any, cast

from gateway.providers._azure import AzureOpenAIProvider
from gateway.providers._base import ChatProvider, CompletionProvider, EmbeddingProvider
from gateway.providers._openai import OpenAIProvider
from gateway.providers.http import HttpClient

__all__ = ["ProviderRegistry"]

_Factory = Callable[[HttpClient, AsyncExitStack], Awaitable[Any]]


async def _openai(client: HttpClient, _: AsyncExitStack) -> OpenAIProvider:
    return OpenAIProvider(client=client)


async def _azure(client: HttpClient, _: AsyncExitStack) -> AzureOpenAIProvider:
    return AzureOpenAIProvider(client=client)


async def _anthropic(client: HttpClient, _: AsyncExitStack) -> ChatProvider:
    # imported only when a deployment uses it; shares the process's one upstream pool
    from gateway.providers.anthropic import AnthropicProvider

    return AnthropicProvider(client=client)


_FACTORIES: dict[str, _Factory] = {"openai": _openai, "azure": _azure, "anthropic": _anthropic}


class ProviderRegistry:
    """The adapters of the provider kinds in use, and what each can serve."""

    def __init__(self, providers: dict[str, Any], *, closer: AsyncExitStack | None = None):
        self._providers = providers
        self._closer = closer

    @classmethod
    async def open(cls, kinds: Iterable[str], *, client: HttpClient) -> ProviderRegistry:
        stack = AsyncExitStack()
        providers: dict[str, Any] = {}
        try:
            for kind in sorted(set(kinds)):
                factory = _FACTORIES.get(kind)
                if factory is None:
                    raise ValueError(f"unknown provider kind {kind!r}")
                providers[kind] = await factory(client, stack)
        except BaseException:
            await stack.aclose()
            raise
        return cls(providers, closer=stack)

    def chat(self, kind: str) -> ChatProvider:
        return cast(ChatProvider, self._providers[kind])

    def completion(self, kind: str) -> CompletionProvider | None:
        provider = self._providers.get(kind)
        return cast(CompletionProvider, provider) if hasattr(provider, "complete") else None

    def embedding(self, kind: str) -> EmbeddingProvider | None:
        provider = self._providers.get(kind)
        return cast(EmbeddingProvider, provider) if hasattr(provider, "embed") else None

    async def aclose(self) -> None:
        if self._closer is not None:
            await self._closer.aclose()
