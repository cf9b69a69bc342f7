"""``/v1/responses``: OpenAI's Responses API over upstreams that speak chat completions.

The wire model (``protocol``) and the translation both ways: a request into a chat
completions body (``chat_request``), a ``chat.completion`` into a ``response`` object
(``response_from_chat``) and a chunk stream into Responses events (``ResponseStream``).
Not served yet: no endpoint family lists it.
"""

from __future__ import annotations

from gateway.api.openai.responses._request import chat_request
from gateway.api.openai.responses._response import (
    ResponseContext,
    new_id,
    response_from_chat,
    usage_from_chat,
)
from gateway.api.openai.responses._stream import ResponseStream, sse_event
from gateway.api.openai.responses.protocol import ResponsesRequest, check_request

__all__ = [
    "ResponseContext",
    "ResponseStream",
    "ResponsesRequest",
    "chat_request",
    "check_request",
    "new_id",
    "response_from_chat",
    "sse_event",
    "usage_from_chat",
]
