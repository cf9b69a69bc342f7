"""Every text of an OpenAI request body that would leave the gateway, found and rewritten.

Chat: message content (strings and text parts), assistant tool-call and function-call
arguments, tool and function results. Completions: the prompt. Embeddings: the input.
Token-id inputs cannot be read; they are refused unless the policy allows everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from gateway.pii._errors import PiiUncheckableError

__all__ = ["Slot", "TextKind", "slots"]

TextKind = Literal["text", "json"]
Slot = tuple[Any, Any, TextKind]  # (container, key, kind): container[key] is the text


def slots(endpoint: str, body: dict[str, Any], *, embeddings: bool = True) -> Iterator[Slot]:
    """The places in ``body`` holding outgoing text, for ``endpoint``."""
    if endpoint == "chat.completions":
        yield from _chat(body)
    elif endpoint == "completions":
        yield from _strings(body, "prompt", "prompt")
    elif endpoint == "embeddings" and embeddings:
        yield from _strings(body, "input", "input")


def _chat(body: dict[str, Any]) -> Iterator[Slot]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for message in messages:
        if not isinstance(message, dict):
            continue
        yield from _content(message)
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    yield function, "arguments", "json"
        legacy = message.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            yield legacy, "arguments", "json"


def _content(message: dict[str, Any]) -> Iterator[Slot]:
    content = message.get("content")
    if isinstance(content, str):
        yield message, "content", "text"
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part, "text", "text"
            elif isinstance(part, dict) and isinstance(part.get("refusal"), str):
                yield part, "refusal", "text"


def _strings(body: dict[str, Any], key: str, param: str) -> Iterator[Slot]:
    value = body.get(key)
    if isinstance(value, str):
        yield body, key, "text"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield value, index, "text"
            else:
                raise _uncheckable(param)


def _uncheckable(param: str) -> PiiUncheckableError:
    return PiiUncheckableError(
        f"'{param}' holds token ids, which cannot be checked for personal data; send text instead",
        param=param,
    )
