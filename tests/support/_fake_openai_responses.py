"""What the fake OpenAI answers on ``/responses``, in OpenAI's wire format: a ``response``
object, or its typed events (with ``sequence_number``) for a stream. It echoes the last user
message (or, after a tool result, that result) or calls the offered function tool with
``{"q": <text>}``; ``/responses/input_tokens`` counts words, as its usage does."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support._fake_prompt import last_user_text, text_of, tool_to_call, words

__all__ = ["envelope", "input_tokens", "response", "responses_events"]


def _turn(body: dict[str, Any]) -> tuple[str, str | None]:
    """The text to echo and, unless the turn answers a tool result, the tool to call."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    items = items or []
    if items and items[-1].get("type") == "function_call_output":
        return text_of(items[-1].get("output"), "input_text"), None
    messages = [item for item in items if item.get("type", "message") == "message"]
    text = last_user_text(messages, "input_text")
    functions = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    return text, tool_to_call(functions, body.get("tool_choice"), lambda tool: tool["name"])


def _output(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    text, tool = _turn(body)
    item: dict[str, Any]
    if tool is not None:
        arguments = json.dumps({"q": text})
        item = {"id": "fc_fake", "type": "function_call", "status": "completed"}
        item |= {"call_id": "call_1", "name": tool, "arguments": arguments}
        out = arguments
    else:
        out = f"echo: {text}"
        part = {"type": "output_text", "text": out, "annotations": [], "logprobs": []}
        item = {"id": "msg_fake", "type": "message", "status": "completed"}
        item |= {"role": "assistant", "content": [part]}
    count = words(text)
    usage = {
        "input_tokens": count,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": words(out),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": count + words(out),
    }
    return [item], usage


def envelope(body: dict[str, Any], status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``response`` object around ``output``, its settings echoed from the request."""
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": body.get("model"),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "user": None,
    }


def response(body: dict[str, Any]) -> dict[str, Any]:
    output, usage = _output(body)
    return {**envelope(body, "completed", output), "usage": usage}


def input_tokens(body: dict[str, Any]) -> dict[str, Any]:
    return {"object": "response.input_tokens", "input_tokens": words(json.dumps(body.get("input")))}


def responses_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's event sequence for the answer ``response`` gives."""
    output, usage = _output(body)
    (item,) = output
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": envelope(body, "in_progress", [])},
        {"type": "response.in_progress", "response": envelope(body, "in_progress", [])},
    ]
    at = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        )
        arguments = item["arguments"]
        for piece in (arguments[:5], arguments[5:]):
            events.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
        events.append(
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": item["name"],
                "arguments": arguments,
            }
        )
    else:
        part = item["content"][0]
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        empty = {**part, "text": ""}
        at["content_index"] = 0
        events.append({"type": "response.content_part.added", **at, "part": empty})
        for word in part["text"].split(" "):
            delta = word if events[-1]["type"] != "response.output_text.delta" else " " + word
            events.append(
                {"type": "response.output_text.delta", **at, "delta": delta, "logprobs": []}
            )
        events.append(
            {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
        )
        events.append({"type": "response.content_part.done", **at, "part": part})
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append(
        {
            "type": "response.completed",
            "response": {**envelope(body, "completed", output), "usage": usage},
        }
    )
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]
