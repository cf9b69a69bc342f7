"""The endpoint table: every OpenAI-style POST family, in one tuple.

Routes, the HTTP front's fast lane, the OpenAPI document and the serving objects all come
from it; adding an endpoint is a protocol, a serving module and one entry here.
"""

from __future__ import annotations

from gateway.api.openai import chat, completions, embeddings, messages, responses
from gateway.api.openai._serving import Family

__all__ = ["FAMILIES"]

FAMILIES: tuple[Family, ...] = (
    chat.FAMILY,
    completions.FAMILY,
    embeddings.FAMILY,
    responses.FAMILY,
    responses.INPUT_TOKENS_FAMILY,
    messages.FAMILY,
    messages.COUNT_TOKENS_FAMILY,
)
