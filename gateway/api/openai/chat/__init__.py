"""``/v1/chat/completions``: the wire model, the serving object and the family entry."""

from __future__ import annotations

from gateway.api.openai._serving import Family
from gateway.api.openai.chat.protocol import ChatCompletionRequest
from gateway.api.openai.chat.serving import ChatServing
from gateway.policy.pipeline import Capabilities

__all__ = ["FAMILY", "ChatCompletionRequest", "ChatServing"]

FAMILY = Family(
    name="chat.completions",
    path="/v1/chat/completions",
    request_model=ChatCompletionRequest,
    serving=ChatServing,
    provider_capability="chat",
    summary="Chat completion (OpenAI format)",
    description="A `chat.completion` object, or with `stream: true` server-sent "
    "`chat.completion.chunk` events ending with `data: [DONE]`.",
    capabilities=Capabilities(pii="chat.completions", tools=True, retrieval=True),
)
