"""``chat.completion.chunk`` dicts -> the Anthropic Messages stream events the SDK expects.

One ``MessageStream`` per stream: ``start`` gives ``message_start`` and a ``ping``; ``feed``
takes each chunk and gives its events (usually one ``content_block_delta``); ``finish`` closes
the last block and ends with ``message_delta`` (stop reason, usage) and ``message_stop``;
``error`` is Anthropic's ``error`` event for a stream the upstream broke.

Reasoning deltas become a ``thinking`` block (``reasoning_signature`` its ``signature_delta``,
sent before the block stops), each ``redacted_reasoning`` entry a ``redacted_thinking`` block,
content deltas a ``text`` block, and each chat tool call (by ``index``) a ``tool_use`` block
whose arguments stream as ``input_json_delta``.
Anthropic has one open block at a time, while chat may interleave tool calls: a tool call's
block is closed only once its arguments are a complete JSON value (or at the end), and what
arrives for later blocks meanwhile is held and sent, in order, when they open. Upstreams
that send calls one after another (all we know of) stream every block live.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from gateway.api.openai.messages._response import message_id as new_message_id
from gateway.api.openai.messages._response import stop_reason, usage_from_chat

__all__ = ["MessageStream", "sse"]

Event = dict[str, Any]
_encode = msgspec.json.Encoder().encode  # bytes
_decode = msgspec.json.decode
_PING: Event = {"type": "ping"}


def sse(event: Event) -> bytes:
    """One event as Anthropic sends it: ``event: <type>`` and ``data: <json>``."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + _encode(event) + b"\n\n"


class _Block:
    """One content block and its Anthropic index once opened. ``pieces`` holds a call's
    arguments (to know when they are complete) and what a held block got before opening;
    an open text or thinking block keeps nothing."""

    __slots__ = ("call_id", "index", "kind", "name", "pieces", "signature")

    def __init__(self, kind: str, call_id: str = "", name: str = "") -> None:
        self.kind = kind  # "text" | "thinking" | "redacted_thinking" | "tool_use"
        self.call_id = call_id  # a redacted_thinking block's data
        self.name = name
        self.index = -1  # not opened yet
        self.pieces: list[str] = []
        self.signature = ""  # a thinking block's; a held block's is sent when it opens

    def start_event(self) -> Event:
        block: dict[str, Any]
        if self.kind == "text":
            block = {"type": "text", "text": ""}
        elif self.kind == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif self.kind == "redacted_thinking":
            block = {"type": "redacted_thinking", "data": self.call_id}
        else:
            block = {"type": "tool_use", "id": self.call_id, "name": self.name, "input": {}}
        return {"type": "content_block_start", "index": self.index, "content_block": block}

    def delta_event(self, piece: str) -> Event:
        delta: dict[str, str]
        if self.kind == "text":
            delta = {"type": "text_delta", "text": piece}
        elif self.kind == "thinking":
            delta = {"type": "thinking_delta", "thinking": piece}
        else:
            delta = {"type": "input_json_delta", "partial_json": piece}
        return {"type": "content_block_delta", "index": self.index, "delta": delta}

    def signature_event(self, signature: str) -> Event:
        delta = {"type": "signature_delta", "signature": signature}
        return {"type": "content_block_delta", "index": self.index, "delta": delta}

    def complete(self) -> bool:
        """Whether the block may close before the end: text always, a call once its
        arguments parse (chat does not say when a call is done)."""
        if self.kind != "tool_use":
            return True
        try:
            _decode("".join(self.pieces))
        except msgspec.DecodeError:
            return False
        return True


class MessageStream:
    """Stateful translation of one chat completion stream into Anthropic stream events."""

    def __init__(self, *, model: str, message_id: str | None = None) -> None:
        self.id = message_id or new_message_id(None)
        self._model = model
        self._open: _Block | None = None
        self._waiting: list[_Block] = []  # blocks behind an unfinished tool call, in order
        self._calls: dict[int, _Block] = {}  # chat tool-call index -> its block
        self._count = 0  # blocks opened
        self._finish_reason: str | None = None
        self._matched: str | None = None  # vLLM's stop_reason: the stop string that matched
        self._usage: Any = None

    def start(self) -> list[Event]:
        """``message_start`` (an empty message; usage comes in ``message_delta``), ``ping``."""
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}, _PING]

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one ``chat.completion.chunk``."""
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = usage
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # n > 1 has no Anthropic equivalent; the request never asks it
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and isinstance(reasoning, str):
                self._add("thinking", reasoning, events)
            signature = delta.get("reasoning_signature")
            if signature and isinstance(signature, str):
                self._signature(signature, events)
            redacted = delta.get("redacted_reasoning")
            for data in redacted if isinstance(redacted, list) else ():
                if data and isinstance(data, str):
                    self._append(_Block("redacted_thinking", data), events)
            content = delta.get("content")
            if content and isinstance(content, str):
                block = self._open
                if block is not None and block.kind == "text":  # most chunks
                    events.append(block.delta_event(content))
                else:
                    self._add("text", content, events)
            for call in delta.get("tool_calls") or ():
                self._tool_call(call, events)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
                matched = choice.get("stop_reason")
                self._matched = matched if isinstance(matched, str) else None
        return events

    def finish(self) -> list[Event]:
        """Close every block; ``message_delta`` (stop reason, usage) and ``message_stop``."""
        events: list[Event] = []
        self._close(events)
        for block in self._waiting:
            self._open_block(block, events)
            self._close(events)
        self._waiting.clear()
        reason, sequence = stop_reason(
            self._finish_reason, self._matched, has_calls=bool(self._calls)
        )
        usage = usage_from_chat(self._usage)
        delta_usage = {
            "output_tokens": usage["output_tokens"],
            "input_tokens": usage["input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        }
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": delta_usage,
            }
        )
        events.append({"type": "message_stop"})
        return events

    def error(self, type: str, message: str) -> Event:
        """Anthropic's ``error`` event (``type`` as Anthropic names them: ``api_error``,
        ``overloaded_error``, ...)."""
        return {"type": "error", "error": {"type": type, "message": message}}

    # -- blocks ---------------------------------------------------------------------
    def _tool_call(self, call: dict[str, Any], events: list[Event]) -> None:
        index = call.get("index", 0)
        function = call.get("function") or {}
        arguments = function.get("arguments")
        block = self._calls.get(index)
        if block is None:
            call_id = call.get("id") or f"toolu_{secrets.token_hex(12)}"
            block = self._calls[index] = _Block("tool_use", call_id, function.get("name") or "")
            self._append(block, events)
        elif not block.name and function.get("name"):
            block.name = function["name"]  # only seen if it had not opened yet
        if not arguments or not isinstance(arguments, str):
            return
        block.pieces.append(arguments)
        if block is self._open:
            events.append(block.delta_event(arguments))
            if self._waiting:
                self._advance(events)  # complete now? then the held blocks go on
        elif block.index < 0:
            self._advance(events)  # a held call got more: the open one may be complete now
        # else: more after a call's complete JSON, which only whitespace can validly be

    def _signature(self, signature: str, events: list[Event]) -> None:
        """The signature of the last thinking block (a new, empty one if the last is not)."""
        last = self._waiting[-1] if self._waiting else self._open
        if last is None or last.kind != "thinking":
            last = _Block("thinking")
            self._append(last, events)
        last.signature += signature
        if last is self._open:
            events.append(last.signature_event(signature))

    def _add(self, kind: str, piece: str, events: list[Event]) -> None:
        """``piece`` for the last text or thinking block, or a new one after it (a signed
        thinking block is finished: reasoning after it is another block)."""
        last = self._waiting[-1] if self._waiting else self._open
        if last is not None and last.kind == kind and not last.signature:
            if last is self._open:
                events.append(last.delta_event(piece))
            else:
                last.pieces.append(piece)
            return
        block = _Block(kind)
        block.pieces.append(piece)
        self._append(block, events)

    def _append(self, block: _Block, events: list[Event]) -> None:
        """A new block after the others: opened now, or held behind an unfinished call."""
        self._waiting.append(block)
        self._advance(events)

    def _advance(self, events: list[Event]) -> None:
        """Close the open block while it may close and another waits; open the next."""
        while self._waiting and (self._open is None or self._open.complete()):
            self._close(events)
            self._open_block(self._waiting.pop(0), events)

    def _open_block(self, block: _Block, events: list[Event]) -> None:
        block.index = self._count
        self._count += 1
        self._open = block
        events.append(block.start_event())
        if block.pieces:  # what arrived while it was held, or the piece that opened it
            events.append(block.delta_event("".join(block.pieces)))
        if block.signature:
            events.append(block.signature_event(block.signature))

    def _close(self, events: list[Event]) -> None:
        if self._open is not None:
            events.append({"type": "content_block_stop", "index": self._open.index})
            self._open = None
