"""Azure OpenAI: OpenAI's wire format behind deployment URLs, ``api-version`` and ``api-key``."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from gateway.providers._base import ProviderCapability, Target
from gateway.providers._openai import OpenAIProvider

__all__ = ["AzureOpenAIProvider"]


class AzureOpenAIProvider(OpenAIProvider):
    """``{base_url}/openai/deployments/{model}/{endpoint}?api-version=...``.

    ``base_url`` is the resource endpoint (``https://NAME.openai.azure.com``) and the
    deployment's ``model`` is the Azure deployment name.
    """

    # Azure's Responses API lives under another URL scheme (/openai/v1/responses) and is not
    # offered: /v1/responses reaches Azure deployments as chat completions.
    capabilities: ClassVar[frozenset[ProviderCapability]] = frozenset(
        {"chat", "completion", "embedding"}
    )

    def path(self, target: Target, endpoint: str) -> str:
        deployment = quote(target.upstream_model, safe="")
        version = quote(target.api_version or "", safe="")
        return f"/openai/deployments/{deployment}/{endpoint}?api-version={version}"

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if target.api_key:
            headers["api-key"] = target.api_key
        headers.update(target.headers)
        return headers
