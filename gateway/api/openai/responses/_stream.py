"""``chat.completion.chunk`` dicts -> the Responses stream events the SDK expects.

One ``ResponseStream`` per stream: ``start`` gives ``response.created`` and
``response.in_progress``; ``feed`` takes each chunk and gives its events (often one);
``finish`` closes every open item and ends with ``response.completed`` (or
``response.incomplete`` when the upstream stopped at the token limit or a content filter);
``fail`` ends a stream the upstream broke with ``response.failed``. Every event carries
the next ``sequence_number``.

The assistant's text is one ``message`` item (an ``output_text`` part, and a ``refusal``
part when the upstream refuses); each chat tool call (by its ``index``, which may
interleave) is one ``function_call`` item, opened on its first fragment. Items are closed
at the end, in output order: chat does not say when a tool call's arguments are complete.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.api.openai.responses._response import (
    ResponseContext,
    Status,
    function_call_item,
    incomplete_reason,
    message_item,
    new_id,
    output_text,
    usage_from_chat,
)

__all__ = ["ResponseStream", "sse_event"]

Event = dict[str, Any]
_encode = msgspec.json.Encoder().encode  # bytes


def sse_event(event: Event) -> bytes:
    """One event as OpenAI sends it: ``event: <type>`` and ``data: <json>``."""
    data: bytes = _encode(event)
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + data + b"\n\n"


class _Message:
    def __init__(self, output_index: int) -> None:
        self.output_index = output_index
        self.id = new_id("msg")
        self.parts: list[dict[str, Any]] = []  # output_text / refusal, in content order
        self.text_index: int | None = None
        self.refusal_index: int | None = None


class _Call:
    def __init__(self, output_index: int, call_id: str, name: str) -> None:
        self.output_index = output_index
        self.id = new_id("fc")
        self.call_id = call_id
        self.name = name
        self.arguments: list[str] = []

    def item(self, status: str) -> dict[str, Any]:
        return function_call_item(
            self.id,
            call_id=self.call_id,
            name=self.name,
            arguments="".join(self.arguments),
            status=status,
        )


class ResponseStream:
    """Stateful translation of one chat completion stream into Responses events."""

    def __init__(self, context: ResponseContext) -> None:
        self._context = context
        self._sequence = 0
        self._model: str | None = None
        self._items: list[_Message | _Call] = []
        self._message: _Message | None = None
        self._calls: dict[int, _Call] = {}  # chat tool-call index -> its item
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self.done = False

    def start(self) -> list[Event]:
        """``response.created`` then ``response.in_progress``."""
        snapshot = self._context.response(status="in_progress", output=[])
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one ``chat.completion.chunk``."""
        if isinstance(chunk.get("model"), str) and self._model is None:
            self._model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = usage_from_chat(chunk["usage"])
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1 has no Responses equivalent; the request never asks it
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self._text(delta["content"], refusal=False)
            if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                events += self._text(delta["refusal"], refusal=True)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    events += self._tool_call(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[Event]:
        """Close every item; ``response.completed`` (or ``response.incomplete``) last."""
        reason = incomplete_reason(self._finish_reason)
        status: Status = "incomplete" if reason else "completed"
        events: list[Event] = []
        output: list[dict[str, Any]] = []
        for item in self._items:
            if isinstance(item, _Message):
                events += self._close_message(item, status)
                output.append(message_item(item.id, item.parts, status))
            else:
                done = item.item(status)
                events.append(
                    self._event(
                        "response.function_call_arguments.done",
                        item_id=item.id,
                        output_index=item.output_index,
                        arguments=done["arguments"],
                    )
                )
                events.append(self._item_done(item.output_index, done))
                output.append(done)
        response = self._context.response(
            status=status,
            output=output,
            model=self._model,
            usage=self._usage,
            incomplete_reason=reason,
        )
        events.append(self._event(f"response.{status}", response=response))
        self.done = True
        return events

    def fail(self, message: str, *, code: str = "server_error") -> list[Event]:
        """``response.failed`` for an upstream that broke off or answered with an error.

        The items so far are in its ``output`` as ``incomplete``; ``code`` must be one
        of OpenAI's ``ResponseError`` codes.
        """
        output: list[dict[str, Any]] = []
        for item in self._items:
            if isinstance(item, _Message):
                output.append(message_item(item.id, item.parts, "incomplete"))
            else:
                output.append(item.item("incomplete"))
        response = self._context.response(
            status="failed",
            output=output,
            model=self._model,
            usage=self._usage,
            error={"code": code, "message": message},
        )
        self.done = True
        return [self._event("response.failed", response=response)]

    def error(self, message: str, *, code: str | None = None, param: str | None = None) -> Event:
        """An ``error`` event: the stream cannot go on (before or instead of a response)."""
        self.done = True
        return self._event("error", code=code, message=message, param=param)

    # -- the message item -----------------------------------------------------------
    def _text(self, delta: str, *, refusal: bool) -> list[Event]:
        events: list[Event] = []
        message = self._message
        if message is None:
            message = self._message = _Message(len(self._items))
            self._items.append(message)
            events.append(
                self._event(
                    "response.output_item.added",
                    output_index=message.output_index,
                    item=message_item(message.id, [], "in_progress"),
                )
            )
        index = message.refusal_index if refusal else message.text_index
        if index is None:
            index = len(message.parts)
            part = {"type": "refusal", "refusal": ""} if refusal else output_text("")
            message.parts.append(part)
            if refusal:
                message.refusal_index = index
            else:
                message.text_index = index
            events.append(self._part_event("response.content_part.added", message, index))
        part = message.parts[index]
        if refusal:
            part["refusal"] += delta
            events.append(
                self._content_event("response.refusal.delta", message, index, delta=delta)
            )
        else:
            part["text"] += delta
            events.append(
                self._content_event(
                    "response.output_text.delta", message, index, delta=delta, logprobs=[]
                )
            )
        return events

    def _close_message(self, message: _Message, status: str) -> list[Event]:
        events: list[Event] = []
        for index, part in enumerate(message.parts):
            if part["type"] == "refusal":
                events.append(
                    self._content_event(
                        "response.refusal.done", message, index, refusal=part["refusal"]
                    )
                )
            else:
                events.append(
                    self._content_event(
                        "response.output_text.done", message, index, text=part["text"], logprobs=[]
                    )
                )
            events.append(self._part_event("response.content_part.done", message, index))
        events.append(
            self._item_done(message.output_index, message_item(message.id, message.parts, status))
        )
        return events

    def _part_event(self, kind: str, message: _Message, index: int) -> Event:
        return self._content_event(kind, message, index, part=dict(message.parts[index]))

    def _content_event(self, kind: str, message: _Message, index: int, **fields: Any) -> Event:
        return self._event(
            kind,
            item_id=message.id,
            output_index=message.output_index,
            content_index=index,
            **fields,
        )

    # -- function call items ---------------------------------------------------------
    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        item = self._calls.get(index)
        if item is None:
            call_id = call.get("id") or new_id("call")
            item = _Call(len(self._items), call_id, function.get("name") or "")
            self._calls[index] = item
            self._items.append(item)
            events.append(
                self._event(
                    "response.output_item.added",
                    output_index=item.output_index,
                    item=item.item("in_progress"),
                )
            )
        elif function.get("name") and not item.name:
            item.name = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.arguments.append(arguments)
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.id,
                    output_index=item.output_index,
                    delta=arguments,
                )
            )
        return events

    def _item_done(self, output_index: int, item: dict[str, Any]) -> Event:
        return self._event("response.output_item.done", output_index=output_index, item=item)

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event
