"""``/v1/messages``: Anthropic's Messages API in front of any upstream, through the chat pipeline.

The wire model (``protocol``), the translation both ways (``chat_request``,
``message_from_chat``, ``MessageStream``), the serving objects and the family entries.
"""

from __future__ import annotations

from gateway.api.openai._serving import Family
from gateway.api.openai.messages._request import chat_request
from gateway.api.openai.messages._response import message_from_chat
from gateway.api.openai.messages._stream import MessageStream, sse
from gateway.api.openai.messages.protocol import MessagesRequest, check_request
from gateway.api.openai.messages.serving import CountTokensServing, MessagesServing
from gateway.policy.pipeline import Capabilities

__all__ = [
    "COUNT_TOKENS_FAMILY",
    "FAMILY",
    "CountTokensServing",
    "MessageStream",
    "MessagesRequest",
    "MessagesServing",
    "chat_request",
    "check_request",
    "message_from_chat",
    "sse",
]

# The body the hooks see is the chat translation: chat's PII fields and tool checks.
_CHAT_POLICY = Capabilities(pii="chat.completions", tools=True)

FAMILY = Family(
    name="messages",
    path="/v1/messages",
    request_model=MessagesRequest,
    serving=MessagesServing,
    provider_capability="chat",
    summary="Create a message (Anthropic's Messages API)",
    description="An Anthropic `message`, or with `stream: true` Anthropic's server-sent events "
    "(`message_start` ... `message_stop`). Errors in Anthropic's shape.",
    capabilities=_CHAT_POLICY,
)

COUNT_TOKENS_FAMILY = Family(
    name="messages.count_tokens",
    path="/v1/messages/count_tokens",
    request_model=MessagesRequest,
    serving=CountTokensServing,
    provider_capability="chat",
    summary="Count the input tokens of a message",
    description='`{"input_tokens": n}`: counted by Anthropic deployments, estimated (as quotas '
    "estimate prompts) for the others.",
    capabilities=Capabilities(pii="chat.completions", tools=True, answer_tokens=False),
    streams=False,
)
