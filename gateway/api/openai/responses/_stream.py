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

from collections.abc import Callable
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
        self._parts: list[dict[str, Any]] = []  # output_text / refusal, in content order
        self.pieces: list[list[str]] = []  # each part's deltas, joined when asked for
        self.text_index: int | None = None
        self.refusal_index: int | None = None
        self.closed: str | None = None  # the status it was closed with

    def add_part(self, part: dict[str, Any]) -> int:
        self._parts.append(part)
        self.pieces.append([])
        return len(self._parts) - 1

    @property
    def parts(self) -> list[dict[str, Any]]:
        """The parts with their text so far (a long answer's deltas are joined once here,
        not copied into a growing string per delta)."""
        for part, pieces in zip(self._parts, self.pieces, strict=True):
            if len(pieces) > 1:
                pieces[:] = ["".join(pieces)]
            part["refusal" if part["type"] == "refusal" else "text"] = pieces[0] if pieces else ""
        return self._parts


class _Call:
    def __init__(self, output_index: int, call_id: str, name: str) -> None:
        self.output_index = output_index
        self.id = new_id("fc")
        self.call_id = call_id
        self.name = name
        self.arguments: list[str] = []
        self.closed: str | None = None

    def item(self, status: str) -> dict[str, Any]:
        return function_call_item(
            self.id,
            call_id=self.call_id,
            name=self.name,
            arguments="".join(self.arguments),
            status=status,
        )


class ResponseStream:
    """Stateful translation of one chat completion stream into Responses events.

    A response made of several model calls (the gateway's file_search loop) is one stream:
    ``close_round`` ends a call's items, ``search_started`` / ``search_done`` put a
    ``file_search_call`` item between them. ``annotate`` gives the annotations of a
    message's text, sent as ``response.output_text.annotation.added`` when it closes.
    """

    def __init__(
        self,
        context: ResponseContext,
        *,
        annotate: Callable[[str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._context = context
        self._annotate = annotate
        self._sequence = 0
        self._model: str | None = None
        self._items: list[_Message | _Call | dict[str, Any]] = []
        self._message: _Message | None = None
        self._calls: dict[int, _Call] = {}  # chat tool-call index -> its item
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self.response: dict[str, Any] | None = None  # the final response object, once ended
        self.done = False

    def start(self) -> list[Event]:
        """``response.created`` then ``response.in_progress``. A background response's
        ``response.created`` (``queued``, sequence 0) was sent when it was accepted: its
        worker's stream goes on from ``response.in_progress``."""
        snapshot = self._context.response(status="in_progress", output=[])
        if self._context.background:
            self._sequence = max(self._sequence, 1)
            return [self._event("response.in_progress", response=snapshot)]
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def created(self, response: dict[str, Any]) -> Event:
        """``response.created`` for ``response`` as it is now (a background one: queued)."""
        return self._event("response.created", response=response)

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
            content = delta.get("content")
            if isinstance(content, str) and content:
                message = self._message
                if message is not None and message.text_index is not None:  # most chunks
                    message.pieces[message.text_index].append(content)
                    events.append(self._text_delta(message, content))
                else:
                    events += self._text(content, refusal=False)
            if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                events += self._text(delta["refusal"], refusal=True)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    events += self._tool_call(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def close_round(self) -> list[Event]:
        """End one model call's items (the next call's text is a new message item)."""
        events: list[Event] = []
        for item in self._items:
            if not isinstance(item, dict) and item.closed is None:
                events += self._close(item, "completed")
        self._message = None
        self._calls = {}
        self._finish_reason = None
        return events

    def search_started(self, item_id: str) -> list[Event]:
        """A ``file_search_call`` item opened: added, in_progress, searching."""
        output_index = len(self._items)
        item: dict[str, Any] = {
            "id": item_id,
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [],
            "results": None,
        }
        self._items.append(item)
        where = {"output_index": output_index, "item_id": item_id}
        return [
            self._event("response.output_item.added", output_index=output_index, item=item),
            self._event("response.file_search_call.in_progress", **where),
            self._event("response.file_search_call.searching", **where),
        ]

    def search_done(self, item: dict[str, Any]) -> list[Event]:
        """The search opened as ``item["id"]`` finished: completed, then the item done."""
        output_index = next(
            i for i, x in enumerate(self._items) if isinstance(x, dict) and x["id"] == item["id"]
        )
        self._items[output_index] = item
        return [
            self._event(
                "response.file_search_call.completed",
                output_index=output_index,
                item_id=item["id"],
            ),
            self._item_done(output_index, item),
        ]

    def finish(self) -> list[Event]:
        """Close every item; ``response.completed`` (or ``response.incomplete``) last."""
        return [*self.close_all(), self.end()]

    def close_all(self) -> list[Event]:
        """Close every open item and settle ``response`` (what ``end`` will announce)."""
        reason = incomplete_reason(self._finish_reason)
        status: Status = "incomplete" if reason else "completed"
        events: list[Event] = []
        for item in self._items:
            if not isinstance(item, dict) and item.closed is None:
                events += self._close(item, status)
        self.response = self._context.response(
            status=status,
            output=self.output(),
            model=self._model,
            usage=self._usage,
            incomplete_reason=reason,
        )
        return events

    def end(self) -> Event:
        """``response.completed`` / ``response.incomplete``, after ``close_all``."""
        response = self.response
        if response is None:
            raise RuntimeError("end() before close_all()")
        self.done = True
        return self._event(f"response.{response['status']}", response=response)

    def output(self) -> list[dict[str, Any]]:
        """The output items so far (open ones as ``incomplete``)."""
        output: list[dict[str, Any]] = []
        for item in self._items:
            if isinstance(item, dict):
                output.append(item)
            elif isinstance(item, _Message):
                output.append(message_item(item.id, item.parts, item.closed or "incomplete"))
            else:
                output.append(item.item(item.closed or "incomplete"))
        return output

    def set_usage(self, usage: dict[str, Any] | None) -> None:
        """The response's usage (several model calls: their sum), instead of the last one's."""
        self._usage = usage

    def fail(self, message: str, *, code: str = "server_error") -> list[Event]:
        """``response.failed`` for an upstream that broke off or answered with an error.

        The items so far are in its ``output`` as ``incomplete``; ``code`` must be one
        of OpenAI's ``ResponseError`` codes.
        """
        response = self._context.response(
            status="failed",
            output=self.output(),
            model=self._model,
            usage=self._usage,
            error={"code": code, "message": message},
        )
        self.response = response
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
            part = {"type": "refusal", "refusal": ""} if refusal else output_text("")
            index = message.add_part(part)
            if refusal:
                message.refusal_index = index
            else:
                message.text_index = index
            events.append(
                self._content_event("response.content_part.added", message, index, part=dict(part))
            )
        message.pieces[index].append(delta)
        if refusal:
            events.append(
                self._content_event("response.refusal.delta", message, index, delta=delta)
            )
        else:
            events.append(
                self._content_event(
                    "response.output_text.delta", message, index, delta=delta, logprobs=[]
                )
            )
        return events

    def _text_delta(self, message: _Message, delta: str) -> Event:
        sequence = self._sequence
        self._sequence = sequence + 1
        return {
            "type": "response.output_text.delta",
            "sequence_number": sequence,
            "item_id": message.id,
            "output_index": message.output_index,
            "content_index": message.text_index,
            "delta": delta,
            "logprobs": [],
        }

    def _close(self, item: _Message | _Call, status: str) -> list[Event]:
        item.closed = status
        if isinstance(item, _Message):
            return self._close_message(item, status)
        done = item.item(status)
        return [
            self._event(
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=item.output_index,
                arguments=done["arguments"],
            ),
            self._item_done(item.output_index, done),
        ]

    def _close_message(self, message: _Message, status: str) -> list[Event]:
        events: list[Event] = []
        for index, part in enumerate(message.parts):
            if part["type"] == "output_text" and self._annotate is not None:
                part["annotations"] = self._annotate(part["text"])
                for number, annotation in enumerate(part["annotations"]):
                    events.append(
                        self._content_event(
                            "response.output_text.annotation.added",
                            message,
                            index,
                            annotation_index=number,
                            annotation=annotation,
                        )
                    )
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
