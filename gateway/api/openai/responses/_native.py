"""The wire conversions for upstreams that speak the Responses API natively.

The serving turns every Responses request into a chat completions body first (so each
policy hook sees one shape). For a native upstream that body goes back into a Responses
body (``responses_body``), and the upstream's answer comes back as a ``chat.completion``
(``chat_from_response``) or as ``chat.completion.chunk`` dicts (``ChunksFromEvents``), so
PII restore, tool-call checks and the translation to the client stay one path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from gateway.api.openai._serving import aclose
from gateway.api.openai.responses._response import new_id

__all__ = [
    "ChunksFromEvents",
    "chat_from_response",
    "chat_usage",
    "chunks_from_events",
    "responses_body",
]

Item = dict[str, Any]
Chunk = dict[str, Any]

_LOGPROBS_INCLUDE = "message.output_text.logprobs"
# Responses incomplete_details.reason -> chat finish_reason
_FINISH = {"max_output_tokens": "length", "content_filter": "content_filter"}
# Chat fields with no Responses equivalent that only shape the chat stream.
_DROPPED = frozenset({"stream_options", "logprobs"})


# -- request: chat body -> Responses body ------------------------------------------------
def responses_body(chat: dict[str, Any], *, passthrough: Mapping[str, Any]) -> dict[str, Any]:
    """The Responses body that asks a native upstream what ``chat`` asks.

    ``chat`` is what ``chat_request`` made (possibly rewritten by policy hooks, same shape);
    fields it does not know pass through unchanged. ``passthrough`` holds the client's
    Responses-only fields (``reasoning``, ``include``, ``truncation`` ...) and wins over
    what is derived here, except that ``include`` is merged (logprobs need their entry) and
    ``store`` is always false: the gateway keeps the conversation, the upstream must not.
    """
    body: dict[str, Any] = {}
    text: dict[str, Any] = {}
    include: list[str] = []
    for key, value in chat.items():
        match key:
            case "messages":
                body["input"] = _input(value)
            case "tools":
                body["tools"] = [_tool(tool) for tool in value]
            case "tool_choice":
                body["tool_choice"] = _tool_choice(value)
            case "response_format":
                text["format"] = _text_format(value)
            case "verbosity":
                text["verbosity"] = value
            case "max_completion_tokens" | "max_tokens":
                body["max_output_tokens"] = value
            case "reasoning_effort":
                body["reasoning"] = {"effort": value}
            case "top_logprobs":
                body["top_logprobs"] = value
                include.append(_LOGPROBS_INCLUDE)
            case _ if key in _DROPPED:
                pass
            case _:
                body[key] = value
    if chat.get("logprobs") and _LOGPROBS_INCLUDE not in include:
        body.setdefault("top_logprobs", 0)
        include.append(_LOGPROBS_INCLUDE)
    if text:
        body["text"] = text
    body.update(passthrough)
    if include:
        given = passthrough.get("include")
        given = list(given) if isinstance(given, list) else []
        body["include"] = given + [entry for entry in include if entry not in given]
    body["store"] = False
    return body


def _input(messages: list[dict[str, Any]]) -> list[Item]:
    items: list[Item] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            items += _assistant(message)
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id"),
                    "output": _tool_output(message.get("content")),
                }
            )
        else:  # system, developer, user
            content = message.get("content")
            if isinstance(content, list):
                content = [_input_part(part) for part in content]
            items.append({"type": "message", "role": role, "content": content})
    return items


def _assistant(message: dict[str, Any]) -> list[Item]:
    """An assistant turn: its words as an easy message, its tool calls as function_call items.

    The words go as a string: ``output_text`` parts belong to an output message item,
    whose ``id`` and ``status`` are required and would be ids this upstream never issued
    (it stores nothing). A refusal is what the assistant said, so it joins the text.
    """
    content = message.get("content")
    if isinstance(content, list):  # chat allows text parts here too
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    said = [part for part in (content, message.get("refusal")) if isinstance(part, str) and part]
    items: list[Item] = []
    if said:
        items.append({"type": "message", "role": "assistant", "content": "".join(said)})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(
            {
                "type": "function_call",
                "call_id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments", ""),
            }
        )
    return items


def _input_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"type": "input_text", "text": part.get("text")}
    if kind == "image_url":
        image = part.get("image_url") or {}
        return {
            "type": "input_image",
            "image_url": image.get("url"),
            "detail": image.get("detail") or "auto",
        }
    if kind == "file":
        return {"type": "input_file", **(part.get("file") or {})}
    return part  # a part chat_request never makes: the upstream judges it


def _tool_output(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    return [
        {"type": "input_text", "text": part.get("text")}
        if isinstance(part, dict) and part.get("type") == "text"
        else part
        for part in content
    ]


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Chat's ``{"type": t, t: {...}}`` -> Responses' flat ``{"type": t, ...}``.

    ``strict`` goes only where the client set it: Responses' own default (strict) is what
    the client asked for by leaving it out.
    """
    kind = tool.get("type")
    inner = tool.get(kind) if isinstance(kind, str) else None
    if not isinstance(inner, dict):
        return tool
    return {"type": kind, **inner}


def _tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return choice  # none / auto / required
    kind = choice.get("type")
    if kind == "function":
        return {"type": "function", "name": (choice.get("function") or {}).get("name")}
    if kind == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        return {
            "type": "allowed_tools",
            "mode": allowed.get("mode", "auto"),
            "tools": [_tool(tool) for tool in allowed.get("tools") or ()],
        }
    return choice


def _text_format(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt.get("type") != "json_schema":
        return fmt
    return {"type": "json_schema", **(fmt.get("json_schema") or {})}


# -- response: Responses -> chat.completion -----------------------------------------------
def chat_from_response(response: dict[str, Any]) -> dict[str, Any]:
    """The ``chat.completion`` saying what a (non-streamed) ``response`` object says.

    Output items other than messages and function calls (reasoning, built-in tool calls)
    have no chat equivalent and are skipped.
    """
    texts: list[str] = []
    refusals: list[str] = []
    logprobs: list[Any] = []
    calls: list[dict[str, Any]] = []
    for item in response.get("output") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if part.get("type") == "output_text":
                    texts.append(part.get("text") or "")
                    logprobs += part.get("logprobs") or ()
                elif part.get("type") == "refusal":
                    refusals.append(part.get("refusal") or "")
        elif item.get("type") == "function_call":
            calls.append(_call(item))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": "".join(refusals) if refusals else None,
    }
    if calls:
        message["tool_calls"] = calls
    completion: dict[str, Any] = {
        "id": response.get("id") or new_id("resp"),
        "object": "chat.completion",
        "created": _created(response),
        "model": response.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(response, bool(calls)),
                "logprobs": {"content": logprobs, "refusal": None} if logprobs else None,
            }
        ],
    }
    usage = chat_usage(response.get("usage"))
    if usage is not None:
        completion["usage"] = usage
    return completion


def chat_usage(usage: Any) -> dict[str, Any] | None:
    """Responses' ``usage`` in chat's names (None when the upstream sent none)."""
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("input_tokens"))
    completion = _count(usage.get("output_tokens"))
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": _count(input_details.get("cached_tokens")),
            "cache_write_tokens": _count(input_details.get("cache_write_tokens")),
        },
        "completion_tokens_details": {
            "reasoning_tokens": _count(output_details.get("reasoning_tokens"))
        },
    }


def _call(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("call_id") or new_id("call"),
        "type": "function",
        "function": {"name": item.get("name") or "", "arguments": item.get("arguments") or ""},
    }


def _finish_reason(response: dict[str, Any], called: bool) -> str:
    """A cut-off answer says why (``length``, ``content_filter``) even mid-call, as chat does."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details") or {}
        reason = _FINISH.get(details.get("reason") or "")
        if reason is not None:
            return reason
    return "tool_calls" if called else "stop"


def _created(response: dict[str, Any]) -> int:
    created = response.get("created_at")
    return int(created) if isinstance(created, int | float) else int(time.time())


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- stream: Responses events -> chat.completion.chunk dicts ------------------------------
class ChunksFromEvents:
    """Stateful translation of one Responses event stream into chat completion chunks.

    The role comes first; text and refusal deltas become ``delta.content`` / ``refusal``;
    each ``function_call`` item becomes one tool call (index 0, 1, ... in order of
    appearance), opened by its ``output_item.added`` and continued by its argument deltas;
    ``response.completed`` / ``response.incomplete`` give the finish reason and then a
    usage chunk with no choices. Other events give nothing.
    """

    def __init__(self) -> None:
        self._base: dict[str, Any] = {
            "id": new_id("resp"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": None,
        }
        self._started = False
        self._calls: dict[int | str, int] = {}  # output_index / item id -> tool call index
        self._call_count = 0
        self.done = False

    def feed(self, event: dict[str, Any]) -> list[Chunk]:
        """The chunks for one event (often none or one)."""
        kind = event.get("type")
        if kind in ("response.created", "response.in_progress"):
            self._identify(event.get("response"))
            return self._start()
        if kind == "response.output_text.delta":
            choice: dict[str, Any] = {"delta": {"content": event.get("delta") or ""}}
            if event.get("logprobs"):
                choice["logprobs"] = {"content": event["logprobs"], "refusal": None}
            return self._opened(self._chunk(**choice))
        if kind == "response.refusal.delta":
            return self._opened(self._chunk(delta={"refusal": event.get("delta") or ""}))
        if kind == "response.output_item.added":
            return self._call_added(event)
        if kind == "response.function_call_arguments.delta":
            index = self._call_index(event)
            if index is None:
                return []
            call = {"index": index, "function": {"arguments": event.get("delta") or ""}}
            return self._opened(self._chunk(delta={"tool_calls": [call]}))
        if kind in ("response.completed", "response.incomplete"):
            return self._finish(event.get("response"))
        return []

    def _call_added(self, event: dict[str, Any]) -> list[Chunk]:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") != "function_call":
            return []
        index = self._call_count
        self._call_count += 1
        if isinstance(event.get("output_index"), int):
            self._calls[event["output_index"]] = index
        if isinstance(item.get("id"), str):
            self._calls[item["id"]] = index
        call = {
            "index": index,
            "id": item.get("call_id") or new_id("call"),
            "type": "function",
            "function": {"name": item.get("name") or "", "arguments": item.get("arguments") or ""},
        }
        return self._opened(self._chunk(delta={"tool_calls": [call]}))

    def _call_index(self, event: dict[str, Any]) -> int | None:
        for key in (event.get("output_index"), event.get("item_id")):
            if isinstance(key, int | str) and key in self._calls:
                return self._calls[key]
        return None

    def _finish(self, response: Any) -> list[Chunk]:
        response = response if isinstance(response, dict) else {}
        self._identify(response)
        chunks = self._start()
        reason = _finish_reason(response, self._call_count > 0)
        chunks.append(self._chunk(delta={}, finish_reason=reason))
        usage = chat_usage(response.get("usage"))
        if usage is not None:
            chunks.append({**self._base, "choices": [], "usage": usage})
        self.done = True
        return chunks

    def _identify(self, response: Any) -> None:
        if not isinstance(response, dict):
            return
        if self._started:
            return  # every chunk of a stream has the same id, created and model
        if isinstance(response.get("id"), str):
            self._base["id"] = response["id"]
        if isinstance(response.get("created_at"), int | float):
            self._base["created"] = int(response["created_at"])
        if isinstance(response.get("model"), str):
            self._base["model"] = response["model"]

    def _opened(self, chunk: Chunk) -> list[Chunk]:
        """``chunk``, after the role chunk if none went yet."""
        return [*self._start(), chunk]

    def _start(self) -> list[Chunk]:
        if self._started:
            return []
        self._started = True
        return [self._chunk(delta={"role": "assistant", "content": ""})]

    def _chunk(self, **choice: Any) -> Chunk:
        return {
            **self._base,
            "choices": [{"index": 0, "finish_reason": None, "logprobs": None, **choice}],
        }


async def chunks_from_events(
    events: AsyncIterator[dict[str, Any]],
) -> AsyncIterator[dict[str, Any]]:
    """A native upstream's Responses events as chat chunks (``ChunksFromEvents``)."""
    translate = ChunksFromEvents()
    try:
        async for event in events:
            for chunk in translate.feed(event):
                yield chunk
    finally:
        await aclose(events)
