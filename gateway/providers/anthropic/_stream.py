"""Anthropic stream events -> OpenAI ``chat.completion.chunk`` dicts.

One ``StreamTranslator`` per stream; ``feed`` takes each decoded event and returns its chunks
(often none). The role chunk waits for the first content, so an ``error`` event right after
``message_start`` reaches the router before any byte went to the client, and it can still fall
back. Tool calls stream as OpenAI's do (a first delta with ``index``, ``id``, ``type`` and
``function.name``, then ``function.arguments`` fragments); ``index`` counts tool calls, not
Anthropic content blocks. Thinking streams as the reasoning deltas of docs/anthropic.md:
``thinking_delta`` -> ``reasoning_content``, ``signature_delta`` -> ``reasoning_signature``, a
``redacted_thinking`` block -> ``redacted_reasoning: [data]``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.providers.anthropic._errors import MalformedUpstreamError
from gateway.providers.anthropic._response import completion_id, finish_reason, usage

__all__ = ["StreamTranslator"]

Chunk = dict[str, Any]


class StreamTranslator:
    """Stateful translation of one Anthropic message stream."""

    def __init__(self, *, created: int, include_usage: bool) -> None:
        self._created = created
        self._include_usage = include_usage
        self._id = "chatcmpl"
        self._model = ""
        self._usage: dict[str, Any] = {}
        self._role_sent = False
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool-call index
        self._tool_has_arguments: dict[int, bool] = {}
        self.started = False  # message_start seen
        self.finished = False  # message_stop seen

    def feed(self, data: Any) -> list[Chunk]:
        """The chunks for one event's decoded ``data`` (``error`` events are the caller's)."""
        if not isinstance(data, dict):
            raise MalformedUpstreamError("stream event data is not an object")
        kind = data.get("type")
        if kind == "message_start":
            return self._message_start(data.get("message"))
        if not self.started:
            raise MalformedUpstreamError(f"stream event {kind!r} before message_start")
        if kind == "content_block_start":
            return self._block_start(_index(data), data.get("content_block"))
        if kind == "content_block_delta":
            return self._block_delta(_index(data), data.get("delta"))
        if kind == "content_block_stop":
            return self._block_stop(_index(data))
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            self.finished = True
            if not self._include_usage:
                return []
            return [self._chunk_base() | {"choices": [], "usage": usage(self._usage)}]
        return []  # ping, and event types added after this adapter was written

    def _message_start(self, message: Any) -> list[Chunk]:
        if not isinstance(message, dict):
            raise MalformedUpstreamError("message_start without a message")
        self.started = True
        self._id = completion_id(message.get("id"))
        self._model = message.get("model") or ""
        self._merge_usage(message.get("usage"))
        return []

    def _block_start(self, index: int, block: Any) -> list[Chunk]:
        if not isinstance(block, dict):
            raise MalformedUpstreamError("content_block_start without a content_block")
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return self._delta({"content": block["text"]})
        if kind == "thinking" and block.get("thinking"):
            return self._delta({"reasoning_content": block["thinking"]})
        if kind == "redacted_thinking":
            return self._delta({"redacted_reasoning": [_str(block, "data")]})
        if kind != "tool_use":
            return []
        call_index = len(self._tool_index)
        self._tool_index[index] = call_index
        initial = block.get("input")
        arguments = msgspec.json.encode(initial).decode() if initial else ""
        self._tool_has_arguments[index] = bool(arguments)
        call = {
            "index": call_index,
            "id": _str(block, "id"),
            "type": "function",
            "function": {"name": _str(block, "name"), "arguments": arguments},
        }
        return self._delta({"tool_calls": [call]})

    def _block_delta(self, index: int, delta: Any) -> list[Chunk]:
        if not isinstance(delta, dict):
            raise MalformedUpstreamError("content_block_delta without a delta")
        kind = delta.get("type")
        if kind == "text_delta":
            text = _str(delta, "text")
            return self._delta({"content": text}) if text else []
        if kind == "input_json_delta":
            fragment = _str(delta, "partial_json")
            if not fragment:
                return []
            if index not in self._tool_index:
                raise MalformedUpstreamError("input_json_delta for a block that is not tool_use")
            self._tool_has_arguments[index] = True
            return self._arguments(index, fragment)
        if kind == "thinking_delta":
            thought = _str(delta, "thinking")
            return self._delta({"reasoning_content": thought}) if thought else []
        if kind == "signature_delta":
            return self._delta({"reasoning_signature": _str(delta, "signature")})
        return []  # citation deltas have no OpenAI counterpart

    def _block_stop(self, index: int) -> list[Chunk]:
        if index in self._tool_index and not self._tool_has_arguments[index]:
            self._tool_has_arguments[index] = True
            return self._arguments(index, "{}")  # a call without input still has arguments
        return []

    def _message_delta(self, data: dict[str, Any]) -> list[Chunk]:
        self._merge_usage(data.get("usage"))
        delta = data.get("delta")
        if not isinstance(delta, dict) or delta.get("stop_reason") is None:
            return []
        return self._delta({}, finish=finish_reason(delta["stop_reason"]))

    def _arguments(self, index: int, fragment: str) -> list[Chunk]:
        call = {"index": self._tool_index[index], "function": {"arguments": fragment}}
        return self._delta({"tool_calls": [call]})

    def _merge_usage(self, raw: Any) -> None:
        # message_start carries input counts, message_delta the cumulative output count
        if isinstance(raw, dict):
            self._usage.update({k: v for k, v in raw.items() if v is not None})

    def _delta(self, delta: dict[str, Any], *, finish: str | None = None) -> list[Chunk]:
        chunks: list[Chunk] = []
        if not self._role_sent:
            self._role_sent = True
            chunks.append(self._choice_chunk({"role": "assistant", "content": ""}, None))
        chunks.append(self._choice_chunk(delta, finish))
        return chunks

    def _choice_chunk(self, delta: dict[str, Any], finish: str | None) -> Chunk:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._chunk_base() | {"choices": [choice]}

    def _chunk_base(self) -> Chunk:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
        }


def _index(data: dict[str, Any]) -> int:
    index = data.get("index")
    if not isinstance(index, int):
        raise MalformedUpstreamError(f"{data.get('type')} event without an integer index")
    return index


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise MalformedUpstreamError(f"stream event field '{name}' is not a string")
    return value
