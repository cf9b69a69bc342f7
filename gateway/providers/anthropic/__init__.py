"""The Anthropic Messages API adapter: OpenAI chat requests in, OpenAI-shaped answers out.

Request translation lives in ``_request`` / ``_messages``, response translation in
``_response``, stream-event translation in ``_stream``, error mapping in ``_errors`` and the
HTTP calls (over the shared ``gateway.providers.http`` client) in ``_adapter``.
"""

from __future__ import annotations

from gateway.providers.anthropic._adapter import DEFAULT_ANTHROPIC_VERSION, AnthropicProvider

__all__ = ["DEFAULT_ANTHROPIC_VERSION", "AnthropicProvider"]
