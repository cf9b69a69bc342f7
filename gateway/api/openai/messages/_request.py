"""An Anthropic Messages request -> the chat completions body that asks an upstream the same thing.

Built before the policy hooks, so PII masking, tool checks and quotas see an ordinary chat body.

- ``system`` becomes one leading ``system`` message (text blocks as text parts, keeping
  ``cache_control``, which the Anthropic provider turns back into cache breakpoints).
- A user turn's ``tool_result`` blocks become ``tool`` messages, in order and before the rest of
  the turn (chat wants tool results right after the assistant's calls). Chat's tool messages hold
  text only, so images in a tool result go to a user message just after them, ahead of the
  turn's own content. ``is_error`` has no chat field: the result's text is sent as given (it
  usually says what failed) rather than rewritten with a prefix the client did not write.
- ``image`` blocks become ``image_url`` parts (base64 as a ``data:`` URL); plain-text
  ``document`` blocks become text parts (their ``source.data``).
- An assistant turn's text becomes ``content`` and its ``tool_use`` blocks ``tool_calls``; its
  ``thinking`` block becomes ``reasoning_content`` + ``reasoning_signature`` and its
  ``redacted_thinking`` blocks ``redacted_reasoning`` (docs/anthropic.md), so an Anthropic
  deployment gets them back unchanged, as a tool loop with thinking requires.
- ``thinking`` goes on as given in the chat body's ``thinking`` (an Anthropic deployment sends
  it; the serving drops it for others), and ``enabled`` also becomes ``reasoning_effort`` by
  budget for chat upstreams; ``adaptive`` and ``disabled`` send no effort (the upstream's
  default). ``service_tier`` is not forwarded: Anthropic's values mean nothing to a chat
  upstream.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import to_builtins

from gateway.api.openai.messages.protocol import (
    Base64Source,
    CustomTool,
    DocumentBlock,
    ImageBlock,
    MessageParam,
    MessagesRequest,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ThinkingEnabled,
    ToolChoice,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolResultBlock,
    ToolUseBlock,
)
from gateway.platform.errors import InvalidRequestError

__all__ = ["chat_request", "reasoning_effort"]

Message = dict[str, Any]
Part = dict[str, Any]


def chat_request(request: MessagesRequest, body: dict[str, Any]) -> dict[str, Any]:
    """The chat completions body for ``request`` (``body`` is the client's dict it came from,
    checked by ``check_request``; only its ``thinking`` object is read, to pass it on whole)."""
    messages: list[Message] = []
    system = _system(request.system)
    if system is not None:
        messages.append(system)
    for turn in request.messages:
        if turn.role == "user":
            _add_user(messages, turn)
        else:
            messages.append(_assistant(turn))
    chat: dict[str, Any] = {"model": request.model, "messages": messages}
    tools = [_tool(tool) for tool in request.tools or ()]
    if tools:
        chat["tools"] = tools
    if request.tool_choice is not None:
        _add_tool_choice(chat, request.tool_choice, has_tools=bool(tools))
    chat["max_completion_tokens"] = request.max_tokens
    if request.stop_sequences:
        chat["stop"] = request.stop_sequences
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(request, name)
        if value is not None:
            chat[name] = value
    if request.metadata is not None and request.metadata.user_id is not None:
        chat["user"] = request.metadata.user_id
    if request.thinking is not None:
        raw = body.get("thinking")  # the client's own object, fields not modelled here included
        chat["thinking"] = dict(raw) if isinstance(raw, dict) else to_builtins(request.thinking)
    if isinstance(request.thinking, ThinkingEnabled):
        chat["reasoning_effort"] = reasoning_effort(request.thinking.budget_tokens)
    if request.stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def reasoning_effort(budget_tokens: int) -> str:
    """Chat's ``reasoning_effort`` for a thinking budget: low under 4096, medium under 16384."""
    if budget_tokens < 4096:
        return "low"
    if budget_tokens < 16384:
        return "medium"
    return "high"


def _system(system: str | list[TextBlock] | None) -> Message | None:
    if not system:
        return None
    if isinstance(system, str):
        return {"role": "system", "content": system}
    return {"role": "system", "content": [_text(block) for block in system]}


def _add_user(messages: list[Message], turn: MessageParam) -> None:
    if isinstance(turn.content, str):
        messages.append({"role": "user", "content": turn.content})
        return
    parts: list[Part] = []
    images: list[Part] = []  # from tool results: chat's tool messages take only text
    for block in turn.content:
        if isinstance(block, ToolResultBlock):
            messages.append(_tool_result(block, images))
        elif isinstance(block, TextBlock):
            parts.append(_text(block))
        elif isinstance(block, ImageBlock):
            parts.append(_image(block))
        elif isinstance(block, DocumentBlock):
            parts.append(_document(block))
        # other blocks are refused for user turns by check_request
    parts = images + parts
    if parts:
        messages.append({"role": "user", "content": parts})


def _tool_result(block: ToolResultBlock, images: list[Part]) -> Message:
    content: str | list[Part]
    if block.content is None or isinstance(block.content, str):
        content = block.content or ""
    else:
        content = []
        for part in block.content:
            if isinstance(part, TextBlock):
                content.append(_text(part))
            else:
                images.append(_image(part))
    return {"role": "tool", "tool_call_id": block.tool_use_id, "content": content}


def _assistant(turn: MessageParam) -> Message:
    if isinstance(turn.content, str):
        return {"role": "assistant", "content": turn.content}
    texts: list[TextBlock] = []
    calls: list[dict[str, Any]] = []
    thoughts: list[ThinkingBlock] = []
    redacted: list[str] = []
    for block in turn.content:
        if isinstance(block, ThinkingBlock):
            thoughts.append(block)
        elif isinstance(block, RedactedThinkingBlock):
            redacted.append(block.data)
        elif isinstance(block, TextBlock):
            texts.append(block)
        elif isinstance(block, ToolUseBlock):
            arguments = json.dumps(block.input, ensure_ascii=False)
            calls.append(
                {
                    "id": block.id,
                    "type": "function",
                    "function": {"name": block.name, "arguments": arguments},
                }
            )
    content: str | list[Part] | None
    if any(block.cache_control is not None for block in texts):
        content = [_text(block) for block in texts]
    else:
        content = "".join(block.text for block in texts) if texts else None
    message: Message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    if thoughts:
        # one thinking block per turn is what Anthropic sends; with several, the last one's
        # signature is kept (the chat form has room for one)
        message["reasoning_content"] = "".join(block.thinking for block in thoughts)
        signature = thoughts[-1].signature
        if signature:
            message["reasoning_signature"] = signature
    if redacted:
        message["redacted_reasoning"] = redacted
    return message


def _text(block: TextBlock) -> Part:
    part: Part = {"type": "text", "text": block.text}
    if block.cache_control is not None:
        part["cache_control"] = block.cache_control.wire()
    return part


def _image(block: ImageBlock) -> Part:
    source = block.source
    if isinstance(source, Base64Source):
        url = f"data:{source.media_type};base64,{source.data}"
    else:
        url = source.url
    part: Part = {"type": "image_url", "image_url": {"url": url}}
    if block.cache_control is not None:
        part["cache_control"] = block.cache_control.wire()
    return part


def _document(block: DocumentBlock) -> Part:
    part: Part = {"type": "text", "text": block.source.data}
    if block.cache_control is not None:
        part["cache_control"] = block.cache_control.wire()
    return part


def _tool(tool: CustomTool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.input_schema
    chat: dict[str, Any] = {"type": "function", "function": function}
    if tool.cache_control is not None:  # kept for Anthropic upstreams (a cache breakpoint)
        chat["cache_control"] = tool.cache_control.wire()
    return chat


def _add_tool_choice(chat: dict[str, Any], choice: ToolChoice, *, has_tools: bool) -> None:
    if isinstance(choice, ToolChoiceNone):
        if has_tools:
            chat["tool_choice"] = "none"
        return
    if not has_tools:
        if isinstance(choice, ToolChoiceAuto):
            return  # nothing to choose from: auto means the same without tools
        raise InvalidRequestError(
            f"Invalid value for 'tool_choice.type': {choice.__struct_config__.tag!r} needs "
            "'tools'.",
            param="tool_choice.type",
            code="invalid_value",
        )
    if isinstance(choice, ToolChoiceAuto):
        chat["tool_choice"] = "auto"
    elif isinstance(choice, ToolChoiceAny):
        chat["tool_choice"] = "required"
    else:
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    if choice.disable_parallel_tool_use:
        chat["parallel_tool_calls"] = False
