"""``/v1/responses``: OpenAI's Responses API over any upstream, through the chat pipeline.

The wire model (``protocol``); the translation both ways (``chat_request``,
``response_from_chat``, ``ResponseStream``) and to upstreams that speak Responses natively
(``_native``); the file_search loop (``_search``); stored responses (``_store``) and their
routes (``controller``); background responses, run by workers (``_background``); the
serving object and the family entry.
"""

from __future__ import annotations

from gateway.api.openai._serving import Family
from gateway.api.openai.responses._background import (
    RUN_ACTOR,
    BackgroundRunner,
    BackgroundStore,
    requeue_expired,
)
from gateway.api.openai.responses._input_tokens import InputTokensServing
from gateway.api.openai.responses._native import (
    ChunksFromEvents,
    chat_from_response,
    responses_body,
)
from gateway.api.openai.responses._request import chat_request
from gateway.api.openai.responses._response import (
    ResponseContext,
    new_id,
    response_from_chat,
    usage_from_chat,
)
from gateway.api.openai.responses._store import ResponseStore
from gateway.api.openai.responses._stream import ResponseStream, sse_event
from gateway.api.openai.responses.protocol import ResponsesRequest, check_request
from gateway.api.openai.responses.serving import ResponsesBackend, ResponsesServing
from gateway.policy.pipeline import Capabilities

__all__ = [
    "FAMILY",
    "INPUT_TOKENS_FAMILY",
    "RUN_ACTOR",
    "BackgroundRunner",
    "BackgroundStore",
    "ChunksFromEvents",
    "ResponseContext",
    "ResponseStore",
    "ResponseStream",
    "ResponsesBackend",
    "ResponsesRequest",
    "ResponsesServing",
    "chat_from_response",
    "chat_request",
    "check_request",
    "new_id",
    "requeue_expired",
    "response_from_chat",
    "responses_body",
    "sse_event",
    "usage_from_chat",
]

FAMILY = Family(
    name="responses",
    path="/v1/responses",
    request_model=ResponsesRequest,
    serving=ResponsesServing,
    provider_capability="chat",
    summary="Create a model response (OpenAI's Responses API)",
    description="A `response` object, or with `stream: true` server-sent Responses events "
    "(`response.created` ... `response.completed`).",
    # The body the hooks see is the chat translation: chat's PII fields and tool checks.
    capabilities=Capabilities(pii="chat.completions", tools=True),
)

INPUT_TOKENS_FAMILY = Family(
    name="responses.input_tokens",
    path="/v1/responses/input_tokens",
    request_model=ResponsesRequest,
    serving=InputTokensServing,
    provider_capability="chat",
    summary="Count the input tokens of a Responses request",
    description='`{"object": "response.input_tokens", "input_tokens": n}`: counted by '
    "upstreams that speak Responses natively, estimated for the others.",
    capabilities=Capabilities(pii="chat.completions", tools=True, answer_tokens=False),
    streams=False,
)
