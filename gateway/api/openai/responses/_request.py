"""A Responses request -> the chat completions body that asks an upstream the same thing.

For upstreams that speak only chat completions. ``input`` items become chat messages in
order: ``instructions`` first (a system or developer message), consecutive
``function_call`` items merged into one assistant message with ``tool_calls`` (joined to
the assistant message just before them, as chat puts text and calls in one message),
``function_call_output`` items as ``tool`` messages. ``file_search`` tools (and a tool
choice naming one) are the gateway's to serve, so they are left out here, as are earlier
``file_search_call`` items. A part or field chat has no way to
say is a 400 naming it, never silently dropped.

Fields this module does not know pass through unchanged (the policy of chat's protocol),
but for the Responses-only ones in ``_GATEWAY_SIDE`` (the gateway acts on them itself)
and ``_UNSUPPORTED`` (refused while set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from gateway.api.openai.responses._response import new_id
from gateway.api.openai.responses.protocol import (
    FileSearchCallItem,
    FileSearchTool,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputItem,
    InputText,
    MessageItem,
    OutputText,
    Refusal,
    ResponsesRequest,
    TextFormat,
)
from gateway.platform.errors import InvalidRequestError

__all__ = ["RESULTS", "chat_request", "input_items", "native_passthrough"]

Message = dict[str, Any]

_KNOWN = frozenset(ResponsesRequest.__struct_fields__)
# Acted on by the gateway (its stream, its file_search loop), not by the model: never
# forwarded. ``truncation: auto`` is served as ``disabled``: an input too long for the
# upstream is refused by it rather than shortened.
_GATEWAY_SIDE = frozenset({"truncation", "background", "stream_options", "max_tool_calls"})
# Meaningful at OpenAI but not expressible to a chat upstream: refused unless empty/false.
_UNSUPPORTED = ("conversation", "prompt")


def chat_request(
    request: ResponsesRequest,
    body: dict[str, Any],
    *,
    history: Sequence[InputItem] = (),
    instructions_role: Literal["system", "developer"] = "system",
) -> dict[str, Any]:
    """The chat completions body for ``request`` (``body`` is the client's dict it came from).

    ``history`` is the earlier turns' items (a ``previous_response_id`` resolved by the
    caller: its input and output items), placed before ``input``; ``store``,
    ``previous_response_id`` and ``include`` are the caller's and are not forwarded.
    """
    for name in _UNSUPPORTED:
        if body.get(name):
            raise InvalidRequestError(
                f"'{name}' is not supported for this model.",
                param=name,
                code="unsupported_parameter",
            )
    chat: dict[str, Any] = {
        key: value for key, value in body.items() if key not in _KNOWN and key not in _GATEWAY_SIDE
    }
    chat["model"] = request.model
    chat["messages"] = _messages(request, history, instructions_role)
    tools = [_tool(tool) for tool in request.tools or () if not isinstance(tool, FileSearchTool)]
    if tools:
        chat["tools"] = tools
        if request.parallel_tool_calls is not None:
            chat["parallel_tool_calls"] = request.parallel_tool_calls
    if request.tool_choice is not None and not _is_file_search(request.tool_choice):
        chat["tool_choice"] = _tool_choice(request.tool_choice)
    if request.text is not None:
        if request.text.format is not None:
            chat["response_format"] = _response_format(request.text.format)
        if request.text.verbosity is not None:
            chat["verbosity"] = request.text.verbosity
    if request.max_output_tokens is not None:
        chat["max_completion_tokens"] = request.max_output_tokens
    if request.top_logprobs:
        chat["logprobs"] = True
        chat["top_logprobs"] = request.top_logprobs
    if request.reasoning is not None and request.reasoning.effort is not None:
        chat["reasoning_effort"] = request.reasoning.effort
    for name in ("temperature", "top_p", "metadata", "user", "safety_identifier"):
        value = getattr(request, name)
        if value is not None:
            chat[name] = value
    if request.stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _messages(
    request: ResponsesRequest, history: Sequence[InputItem], instructions_role: str
) -> list[Message]:
    messages: list[Message] = []
    if request.instructions:
        messages.append({"role": instructions_role, "content": request.instructions})
    for item in history:
        _add_item(messages, item, None)
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
    elif request.input is not None:
        for index, item in enumerate(request.input):
            _add_item(messages, item, f"input[{index}]")
    if not messages:
        raise InvalidRequestError(
            "Missing required parameter: 'input'.",
            param="input",
            code="missing_required_parameter",
        )
    return messages


def _add_item(messages: list[Message], item: InputItem, where: str | None) -> None:
    if isinstance(item, FileSearchCallItem):
        return  # the gateway's own search: the answer that used it carries what it found
    if isinstance(item, MessageItem):
        messages.append(_message(item, where))
    elif isinstance(item, FunctionCallItem):
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": item.arguments},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    else:
        messages.append(_tool_output(item, where))


def _message(item: MessageItem, where: str | None) -> Message:
    if isinstance(item.content, str):
        return {"role": item.role, "content": item.content}
    if item.role == "assistant":
        return _assistant(item.content, where)
    parts = []
    for index, part in enumerate(item.content):
        at = _at(where, f"content[{index}]")
        if isinstance(part, InputText):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, InputImage):
            parts.append(_image(part, at))
        elif isinstance(part, InputFile):
            parts.append(_file(part, at))
        else:
            raise _invalid(
                f"content parts of type '{part.__struct_config__.tag}' belong to "
                f"assistant messages, not to '{item.role}' ones",
                _at(at, "type"),
            )
    return {"role": item.role, "content": parts}


def _assistant(content: Sequence[Any], where: str | None) -> Message:
    texts: list[str] = []
    refusals: list[str] = []
    for index, part in enumerate(content):
        if isinstance(part, OutputText | InputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            refusals.append(part.refusal)
        else:
            raise _invalid(
                "assistant messages take only 'output_text' and 'refusal' parts",
                _at(where, f"content[{index}].type"),
            )
    message: Message = {"role": "assistant", "content": "".join(texts) if texts else None}
    if refusals:
        message["refusal"] = "".join(refusals)
    return message


def _tool_output(item: FunctionCallOutputItem, where: str | None) -> Message:
    content: str | list[dict[str, str]]
    if isinstance(item.output, str):
        content = item.output
    else:
        content = []
        for index, part in enumerate(item.output):
            if not isinstance(part, InputText):
                raise _invalid(
                    "function call outputs to this model can hold only 'input_text' parts",
                    _at(where, f"output[{index}].type"),
                )
            content.append({"type": "text", "text": part.text})
    return {"role": "tool", "tool_call_id": item.call_id, "content": content}


def _image(part: InputImage, at: str | None) -> dict[str, Any]:
    if part.image_url is None:
        raise _invalid(
            "images given by 'file_id' are not supported for this model; send 'image_url' "
            "(a URL or a data: URL)",
            _at(at, "image_url"),
        )
    image: dict[str, Any] = {"url": part.image_url}
    if part.detail is not None:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def _file(part: InputFile, at: str | None) -> dict[str, Any]:
    if part.file_url is not None:
        raise _invalid(
            "files given by 'file_url' are not supported for this model; send "
            "'file_data' or 'file_id'",
            _at(at, "file_url"),
        )
    file = {
        name: value
        for name in ("file_data", "file_id", "filename")
        if (value := getattr(part, name)) is not None
    }
    return {"type": "file", "file": file}


def _tool(tool: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    for name in ("description", "parameters", "strict"):
        value = getattr(tool, name)
        if value is not None:
            function[name] = value
    return {"type": "function", "function": function}


def _is_file_search(choice: str | dict[str, Any]) -> bool:
    """``{"type": "file_search"}``: the gateway's search loop forces its tool itself."""
    return isinstance(choice, dict) and choice.get("type") == "file_search"


def _tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, str):
        return choice
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid("a function tool choice needs a 'name'", "tool_choice.name")
        return {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        tools = choice.get("tools")
        mode = choice.get("mode", "auto")
        if not isinstance(tools, list):
            raise _invalid("'tools' must be an array", "tool_choice.tools")
        allowed = []
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                raise _invalid(
                    "only function tools can be allowed for this model",
                    f"tool_choice.tools[{index}]",
                )
            allowed.append({"type": "function", "function": {"name": tool.get("name")}})
        return {"type": "allowed_tools", "allowed_tools": {"mode": mode, "tools": allowed}}
    raise _invalid(
        f"tool choice {kind!r} is not supported for this model; use 'none', 'auto', "
        "'required', a function or allowed_tools",
        "tool_choice.type",
    )


def _response_format(fmt: TextFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    if not fmt.name:
        raise InvalidRequestError(
            "Missing required parameter: 'text.format.name'.",
            param="text.format.name",
            code="missing_required_parameter",
        )
    if fmt.schema is None:
        raise InvalidRequestError(
            "Missing required parameter: 'text.format.schema'.",
            param="text.format.schema",
            code="missing_required_parameter",
        )
    schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema}
    if fmt.description is not None:
        schema["description"] = fmt.description
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


def _at(where: str | None, rest: str) -> str | None:
    return f"{where}.{rest}" if where is not None else None


def _invalid(what: str, param: str | None) -> InvalidRequestError:
    where = f"'{param}'" if param else "an earlier turn"
    return InvalidRequestError(
        f"Invalid value for {where}: {what}.", param=param, code="invalid_value"
    )


# ``reasoning`` settings a native upstream is given (chat upstreams get
# ``reasoning_effort``): settings words only, so no free text passes the PII step by this way.
# Every other field the gateway does not know travels in the chat body, through the PII step.
_REASONING = ("effort", "summary", "generate_summary")
_SETTING_WORD = re.compile(r"[a-z][a-z_]{0,31}")
_INCLUDE = re.compile(r"[a-z][a-z_]{0,31}(?:\.[a-z][a-z_]{0,31}){0,4}")
RESULTS = "file_search_call.results"


def native_passthrough(body: dict[str, Any], request: ResponsesRequest) -> dict[str, Any]:
    """The Responses-only settings a native upstream gets beside the converted chat body:
    ``reasoning`` and ``include`` (names only, so no free text passes the PII step this way;
    ``file_search_call.results`` is the gateway's own)."""
    passthrough = _reasoning(body)
    include = [name for name in request.include or () if name != RESULTS]
    for index, name in enumerate(include):  # forwarded to native upstreams as they are
        if not _INCLUDE.fullmatch(name):
            raise InvalidRequestError(
                f"Invalid value for 'include[{index}]': expected a name such as "
                "'message.output_text.logprobs'.",
                param=f"include[{index}]",
                code="invalid_value",
            )
    if include:
        passthrough["include"] = include
    return passthrough


def _reasoning(body: dict[str, Any]) -> dict[str, Any]:
    """The Responses-only settings a native upstream gets beside the converted chat body."""
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict):
        return {}
    kept = {}
    for name in _REASONING:
        value = reasoning.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not _SETTING_WORD.fullmatch(value):
            raise InvalidRequestError(
                f"Invalid value for 'reasoning.{name}': expected a setting such as 'low'.",
                param=f"reasoning.{name}",
                code="invalid_value",
            )
        kept[name] = value
    return {"reasoning": kept} if kept else {}


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """This request's input as stored items: typed, with ids, message content as parts."""
    raw = body.get("input")
    if isinstance(raw, str):
        raw = [{"type": "message", "role": "user", "content": raw}]
    items: list[dict[str, Any]] = []
    for entry in raw or ():
        item = dict(entry)
        kind = item.setdefault("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, str):
                part = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": part, "text": content}]
                if part == "output_text":
                    item["content"][0]["annotations"] = []
            item.setdefault("status", "completed")
        if not isinstance(item.get("id"), str):
            item["id"] = new_id(_PREFIXES.get(kind, "item"))
        items.append(item)
    return items


_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
