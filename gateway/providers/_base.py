"""The contract between the router and a provider adapter.

- Adapters speak OpenAI's wire format on our side: an OpenAI request body as the client sent it
  (``model`` replaced by the deployment's upstream name) in; OpenAI responses and
  ``chat.completion.chunk`` dicts out. Other wire formats stay inside the adapter.
- Failures are ``UpstreamError`` subclasses. ``retryable`` ones (connect errors, timeouts before
  the first byte, 5xx, 429) may fall back to the next deployment; others go to the client.
- An error's ``message`` is the gateway's own words, never upstream body text: it may be logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from gateway.providers.http import TransportOptions

__all__ = [
    "ChatProvider",
    "CompletionProvider",
    "EmbeddingProvider",
    "Provider",
    "ProviderCapability",
    "ResponsesProvider",
    "Target",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
]


# What an adapter can serve; an endpoint family names the one it needs.
ProviderCapability = Literal["chat", "completion", "embedding", "responses"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one call goes: one deployment of a model alias, resolved for this call."""

    deployment: str  # the deployment's name in config, for logs and metrics
    base_url: str  # e.g. https://api.openai.com/v1, https://api.anthropic.com
    upstream_model: str  # the model name the upstream knows
    api_key: str | None = None  # already read from the env var named in config
    timeout_s: float = 60.0  # connect + first byte; streams then have no overall limit
    api_version: str | None = None  # Azure api-version / anthropic-version
    headers: Mapping[str, str] = field(default_factory=dict)
    transport: TransportOptions | None = None  # the deployment's own proxy / TLS settings
    default_max_tokens: int | None = None  # for upstreams that require max_tokens (Anthropic)


class UpstreamError(Exception):
    """The upstream call failed. ``retryable``: another deployment may be tried."""

    retryable: bool = False

    def __init__(self, message: str, *, deployment: str) -> None:
        super().__init__(message)
        self.message = message
        self.deployment = deployment


class UpstreamConnectError(UpstreamError):
    """No connection (refused, DNS, TLS, reset before the response started)."""

    retryable = True


class UpstreamTimeoutError(UpstreamError):
    """No response (or no first stream event) within the deployment's timeout."""

    retryable = True


class UpstreamProtocolError(UpstreamError):
    """The upstream answered something that is not its wire format (garbage, bad JSON)."""

    retryable = True


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an HTTP error status.

    Nothing of the upstream's body is kept verbatim (it may echo the gateway's credentials
    or quote the prompt). ``message`` is the gateway's own summary, fit for logs;
    ``error_type`` / ``code`` / ``param`` are the upstream's short identifiers where it sent
    clean ones; ``detail`` is its message with secrets scrubbed and the length capped, for
    the caller of a request the upstream refused and never for a log (see ``_scrub``).
    429 and 5xx are retryable; 4xx are the client's (or the configuration's) and are not.
    """

    def __init__(
        self,
        message: str,
        *,
        deployment: str,
        status_code: int,
        detail: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, deployment=deployment)
        self.status_code = status_code
        self.detail = detail
        self.error_type = error_type
        self.code = code
        self.param = param
        self.retry_after_s = retry_after_s
        self.retryable = status_code == 429 or status_code >= 500


class ChatProvider(Protocol):
    """One provider kind's adapter. Built once per process with the shared HTTP client."""

    async def chat(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming chat completion, returned as an OpenAI ``chat.completion`` dict."""

    def stream_chat(self, target: Target, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A streaming chat completion as OpenAI ``chat.completion.chunk`` dicts.

        Raises ``UpstreamError`` before the first chunk is yielded for failures that allow a
        fallback; an error after the first chunk ends the stream (no retry). Cancelling the
        iterator (client disconnect) must close the upstream connection.
        """


class CompletionProvider(Protocol):
    """Adapters that also serve the legacy ``/v1/completions`` prompt API."""

    async def complete(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming ``text_completion`` dict."""

    def stream_complete(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """Streamed ``text_completion`` chunks; same failure rules as ``stream_chat``."""


class EmbeddingProvider(Protocol):
    """Adapters that serve ``/v1/embeddings``."""

    async def embed(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI ``list`` of ``embedding`` objects with ``usage``."""


class ResponsesProvider(Protocol):
    """Adapters whose upstream speaks OpenAI's Responses API natively (``/responses``).

    Bodies are Responses request bodies; the gateway keeps the conversation, so they carry
    ``store: false``.
    """

    async def responses(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming Responses call: the upstream's ``response`` object."""

    async def count_input_tokens(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """The upstream's ``/responses/input_tokens`` answer for a Responses body."""

    def stream_responses(
        self, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """The upstream's stream events as dicts (each has a ``type``), in order.

        Same failure rules as ``stream_chat``; an ``error`` or ``response.failed`` event
        raises ``UpstreamStatusError``.
        """


class Provider(ChatProvider, Protocol):
    """One provider kind's adapter: chat always, the other protocols as ``capabilities`` says."""

    capabilities: ClassVar[frozenset[ProviderCapability]]
