"""Wire model of ``POST /v1/messages`` (Anthropic's Messages API): the fields the gateway checks.

Unlike chat, the top level is closed, as Anthropic's API is: a field outside ``_ALLOWED`` is a
400 (``_UNSUPPORTED`` names Anthropic fields this gateway cannot serve yet). Inside blocks,
unknown fields are allowed (``citations``, ``caller``, new cache settings): they do not change
what the model is asked. ``check_request`` names an unknown or unsupported block, tool or role
itself, with Anthropic's dotted paths (``messages.1.content.0.type``), before msgspec checks
the rest; msgspec's own errors are re-phrased to the same paths.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, NoReturn

import msgspec
from msgspec import Meta, Struct

from gateway.api.http._validation import refuse_type, validate
from gateway.api.openai.chat.protocol import MAX_TOKENS
from gateway.platform.errors import InvalidRequestError

__all__ = [
    "Base64Source",
    "ContentBlock",
    "CustomTool",
    "DocumentBlock",
    "ImageBlock",
    "MessageParam",
    "MessagesRequest",
    "Metadata",
    "RedactedThinkingBlock",
    "TextBlock",
    "TextSource",
    "Thinking",
    "ThinkingAdaptive",
    "ThinkingBlock",
    "ThinkingDisabled",
    "ThinkingEnabled",
    "ToolChoice",
    "ToolChoiceAny",
    "ToolChoiceAuto",
    "ToolChoiceNone",
    "ToolChoiceTool",
    "ToolResultBlock",
    "ToolUseBlock",
    "UrlSource",
    "check_request",
]


class CacheControl(Struct, forbid_unknown_fields=True):
    """A prompt-cache breakpoint: forwarded to Anthropic upstreams, so only its known fields."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None

    def wire(self) -> dict[str, Any]:
        return {"type": self.type} if self.ttl is None else {"type": self.type, "ttl": self.ttl}


ImageMediaType = Literal["image/jpeg", "image/png", "image/gif", "image/webp"]


class TextBlock(Struct, tag_field="type", tag="text", forbid_unknown_fields=False):
    """``citations`` may come back from an earlier answer; they are not forwarded."""

    text: str
    cache_control: CacheControl | None = None


class Base64Source(Struct, tag_field="type", tag="base64", forbid_unknown_fields=False):
    media_type: ImageMediaType
    data: Annotated[str, Meta(min_length=1)]


class UrlSource(Struct, tag_field="type", tag="url", forbid_unknown_fields=False):
    url: Annotated[str, Meta(min_length=1)]


class ImageBlock(Struct, tag_field="type", tag="image", forbid_unknown_fields=False):
    source: Base64Source | UrlSource
    cache_control: CacheControl | None = None


class TextSource(Struct, tag_field="type", tag="text", forbid_unknown_fields=False):
    data: str
    media_type: str | None = None


class DocumentBlock(Struct, tag_field="type", tag="document", forbid_unknown_fields=False):
    """Only plain-text documents (``check_request`` refuses other sources): sent as text."""

    source: TextSource
    title: str | None = None
    context: str | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(Struct, tag_field="type", tag="tool_use", forbid_unknown_fields=False):
    """A call the model made in an earlier turn."""

    id: Annotated[str, Meta(min_length=1)]
    name: Annotated[str, Meta(min_length=1)]
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolResultBlock(Struct, tag_field="type", tag="tool_result", forbid_unknown_fields=False):
    tool_use_id: Annotated[str, Meta(min_length=1)]
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(Struct, tag_field="type", tag="thinking", forbid_unknown_fields=False):
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(
    Struct, tag_field="type", tag="redacted_thinking", forbid_unknown_fields=False
):
    data: str


ContentBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)


class MessageParam(Struct, forbid_unknown_fields=False):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class CustomTool(Struct, forbid_unknown_fields=False):
    """A tool the client runs (server tools are refused by ``check_request``)."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    input_schema: dict[str, Any]
    description: str | None = None
    type: Literal["custom"] | None = None
    cache_control: CacheControl | None = None


class ToolChoiceAuto(Struct, tag_field="type", tag="auto", forbid_unknown_fields=False):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(Struct, tag_field="type", tag="any", forbid_unknown_fields=False):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(Struct, tag_field="type", tag="tool", forbid_unknown_fields=False):
    name: Annotated[str, Meta(min_length=1)]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(Struct, tag_field="type", tag="none", forbid_unknown_fields=False):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class ThinkingEnabled(Struct, tag_field="type", tag="enabled", forbid_unknown_fields=False):
    budget_tokens: Annotated[int, Meta(ge=1024, le=MAX_TOKENS)]


class ThinkingDisabled(Struct, tag_field="type", tag="disabled", forbid_unknown_fields=False):
    pass


class ThinkingAdaptive(Struct, tag_field="type", tag="adaptive", forbid_unknown_fields=False):
    """The model decides how much to think: nothing to forward."""

    display: str | None = None


Thinking = ThinkingEnabled | ThinkingDisabled | ThinkingAdaptive


class Metadata(Struct, forbid_unknown_fields=False):
    user_id: str | None = None


class MessagesRequest(Struct, forbid_unknown_fields=False):
    model: Annotated[str, Meta(min_length=1)]
    messages: Annotated[list[MessageParam], Meta(min_length=1)]
    max_tokens: Annotated[int, Meta(ge=1, le=MAX_TOKENS)]
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    tools: list[CustomTool] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None
    thinking: Thinking | None = None
    service_tier: Literal["auto", "standard_only"] | None = None


_ALLOWED = frozenset(MessagesRequest.__struct_fields__)
# Anthropic request fields this gateway cannot serve over a chat upstream (yet).
_UNSUPPORTED = frozenset(
    {
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
        "output_format",
        "cache_control",
        "diagnostics",
        "inference_geo",
        "speed",
    }
)
_USER_BLOCKS = ("text", "image", "document", "tool_result")
_ASSISTANT_BLOCKS = ("text", "tool_use", "thinking", "redacted_thinking")
_TOOL_RESULT_BLOCKS = ("text", "image")
_KNOWN_BLOCKS = frozenset(_USER_BLOCKS + _ASSISTANT_BLOCKS)
# Block types Anthropic defines that need its server tools or files: named as unsupported.
_UNSUPPORTED_BLOCKS = frozenset(
    {
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
        "tool_reference",
        "document",  # inside a tool_result
    }
)
_INDEX = re.compile(r"\[(\d+)\]")


def check_request(body: dict[str, Any]) -> MessagesRequest:
    """The body checked and converted; 400 naming the first wrong field (``messages.1.role``).

    ``body`` is not changed; the translation reads both it and the returned request.
    """
    for name in body:
        if name in _ALLOWED:
            continue
        if name in _UNSUPPORTED:
            raise InvalidRequestError(
                f"'{name}' is not supported by this gateway yet.",
                param=name,
                code="unsupported_parameter",
            )
        raise InvalidRequestError(
            f"Unrecognized request argument supplied: '{name}'.",
            param=name,
            code="unknown_parameter",
        )
    messages = body.get("messages")
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if isinstance(message, dict):
                _check_message(message, f"messages.{index}")
    tools = body.get("tools")
    if isinstance(tools, list):
        for index, tool in enumerate(tools):
            if isinstance(tool, dict) and tool.get("type") not in (None, "custom"):
                _refuse_server_tool(tool.get("type"), f"tools.{index}.type")
    try:
        request = msgspec.convert(body, MessagesRequest)
    except msgspec.ValidationError:
        _raise_dotted(body)
        raise
    thinking = request.thinking
    if isinstance(thinking, ThinkingEnabled) and thinking.budget_tokens >= request.max_tokens:
        raise InvalidRequestError(
            "Invalid value for 'thinking.budget_tokens': it must be less than 'max_tokens' "
            f"({request.max_tokens}).",
            param="thinking.budget_tokens",
            code="invalid_value",
        )
    return request


def _check_message(message: dict[str, Any], where: str) -> None:
    role = message.get("role")
    if role == "system":
        raise InvalidRequestError(
            f"Invalid value for '{where}.role': 'system' is not a message role here; "
            "send the system prompt as the top-level 'system' parameter.",
            param=f"{where}.role",
            code="invalid_value",
        )
    blocks = message.get("content")
    if not isinstance(blocks, list) or role not in ("user", "assistant"):
        return  # msgspec names what is wrong
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        at = f"{where}.content.{index}"
        kind = block.get("type")
        if kind not in allowed:
            _refuse_block(f"{at}.type", kind, role, allowed)
        if kind == "document":
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") != "text":
                raise InvalidRequestError(
                    "document blocks are not supported yet (only a plain-text source, "
                    '{"type": "text", "data": ...}, is).',
                    param=f"{at}.source.type",
                    code="unsupported_value",
                )
        if kind == "tool_result" and isinstance(block.get("content"), list):
            for part_index, part in enumerate(block["content"]):
                if isinstance(part, dict) and part.get("type") not in _TOOL_RESULT_BLOCKS:
                    where_part = f"{at}.content.{part_index}.type"
                    _refuse_block(where_part, part.get("type"), "tool_result", _TOOL_RESULT_BLOCKS)


def _refuse_block(param: str, kind: Any, owner: str, allowed: tuple[str, ...]) -> NoReturn:
    refuse_type(
        param,
        kind,
        "content block",
        allowed,
        unsupported=_UNSUPPORTED_BLOCKS,
        elsewhere=_KNOWN_BLOCKS,
        owner=owner,
    )


def _refuse_server_tool(kind: Any, param: str) -> NoReturn:
    shown = repr(kind) if isinstance(kind, str) else "a non-string value"
    raise InvalidRequestError(
        f"Invalid value for '{param}': tools of type {shown} are not supported by this "
        "gateway; only custom tools (a 'name' and an 'input_schema', run by the client) are.",
        param=param,
        code="unsupported_value",
    )


def _raise_dotted(body: dict[str, Any]) -> None:
    """msgspec's error as ``validate`` phrases it, with Anthropic's dotted paths."""
    try:
        validate(body, MessagesRequest)
    except InvalidRequestError as exc:
        param = exc.param
        message = exc.message
        if param is not None:
            dotted = _INDEX.sub(r".\1", param)
            message = message.replace(f"'{param}'", f"'{dotted}'")
            param = dotted
        raise InvalidRequestError(message, param=param, code=exc.code) from exc
