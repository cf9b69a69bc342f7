"""Wire model of ``POST /v1/responses``: the fields the gateway checks.

As in chat, unknown fields are allowed (top level and inside items) and the body itself
stays the client's dict; the Structs check types and give the OpenAPI schema. Input items
are a union tagged by ``type``; a message may leave ``type`` out (OpenAI's "easy" input
message), so ``check_request`` fills it in on the copy it checks, and names an unknown or
unsupported item type itself (``input[2].type``) before msgspec checks the rest.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from gateway.api.http._validation import json_type, refuse_type, validate
from gateway.api.openai.chat.protocol import MAX_TOKENS
from gateway.platform.errors import InvalidRequestError

__all__ = [
    "ContentPart",
    "FileSearchCallItem",
    "FileSearchTool",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "InputFile",
    "InputImage",
    "InputItem",
    "InputText",
    "MessageItem",
    "OutputText",
    "Reasoning",
    "Refusal",
    "ResponsesRequest",
    "TextConfig",
    "TextFormat",
    "Tool",
    "check_request",
]

Role = Literal["user", "system", "developer", "assistant"]


class InputText(Struct, tag_field="type", tag="input_text", forbid_unknown_fields=False):
    text: str


class InputImage(Struct, tag_field="type", tag="input_image", forbid_unknown_fields=False):
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class InputFile(Struct, tag_field="type", tag="input_file", forbid_unknown_fields=False):
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class OutputText(Struct, tag_field="type", tag="output_text", forbid_unknown_fields=False):
    """An earlier answer's text, sent back in an assistant message."""

    text: str
    annotations: list[dict[str, Any]] | None = None


class Refusal(Struct, tag_field="type", tag="refusal", forbid_unknown_fields=False):
    refusal: str


ContentPart = InputText | InputImage | InputFile | OutputText | Refusal


class MessageItem(Struct, tag_field="type", tag="message", forbid_unknown_fields=False):
    role: Role
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(Struct, tag_field="type", tag="function_call", forbid_unknown_fields=False):
    """A call the model made in an earlier turn, sent back with its output."""

    call_id: Annotated[str, Meta(min_length=1)]
    name: Annotated[str, Meta(min_length=1)]
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(
    Struct, tag_field="type", tag="function_call_output", forbid_unknown_fields=False
):
    call_id: Annotated[str, Meta(min_length=1)]
    output: str | list[InputText | InputImage | InputFile]
    id: str | None = None
    status: str | None = None


class FileSearchCallItem(
    Struct, tag_field="type", tag="file_search_call", forbid_unknown_fields=False
):
    """A search the gateway ran in an earlier turn (an output item sent back as input).

    Kept in the conversation's record; the model is not shown it again (the answer that
    used its results is)."""

    id: str
    queries: list[str] | None = None
    status: str | None = None
    results: list[dict[str, Any]] | None = None


InputItem = MessageItem | FunctionCallItem | FunctionCallOutputItem | FileSearchCallItem


class FunctionTool(Struct, tag_field="type", tag="function", forbid_unknown_fields=False):
    """Responses function tools are flat: no ``function`` wrapper as in chat."""

    name: Annotated[str, Meta(min_length=1, max_length=64)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FileSearchTool(Struct, tag_field="type", tag="file_search", forbid_unknown_fields=False):
    """Checked here; served by the gateway over its own vector stores (not translated)."""

    vector_store_ids: list[str]
    max_num_results: Annotated[int, Meta(ge=1, le=50)] | None = None
    filters: dict[str, Any] | None = None
    ranking_options: dict[str, Any] | None = None


Tool = FunctionTool | FileSearchTool


class TextFormat(Struct, forbid_unknown_fields=False):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextConfig(Struct, forbid_unknown_fields=False):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class Reasoning(Struct, forbid_unknown_fields=False):
    effort: str | None = None
    summary: str | None = None


class ResponsesRequest(Struct, forbid_unknown_fields=False):
    model: str
    input: str | list[InputItem] | None = None
    instructions: str | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    max_output_tokens: Annotated[int, Meta(ge=1, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[str] | None = None
    reasoning: Reasoning | None = None
    user: str | None = None
    safety_identifier: str | None = None
    stream: bool | None = None


# Item and tool types OpenAI defines that a chat completions upstream cannot take (or that
# need state this module does not have): named as unsupported rather than unknown.
_UNSUPPORTED_ITEMS = frozenset(
    {
        "item_reference",
        "reasoning",
        "web_search_call",
        "computer_call",
        "computer_call_output",
        "image_generation_call",
        "code_interpreter_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "custom_tool_call",
        "custom_tool_call_output",
        "tool_search_call",
        "additional_tools",
        "compaction",
    }
)
_UNSUPPORTED_TOOLS = frozenset(
    {
        "web_search",
        "web_search_preview",
        "code_interpreter",
        "computer_use_preview",
        "image_generation",
        "mcp",
        "local_shell",
        "shell",
        "custom",
        "apply_patch",
    }
)
_ITEMS = ("message", "function_call", "function_call_output", "file_search_call")
_TOOLS = ("function", "file_search")
_PARTS = ("input_text", "input_image", "input_file", "output_text", "refusal")


def check_request(body: dict[str, Any]) -> ResponsesRequest:
    """The body checked and converted; 400 naming the first wrong field (``input[2].type``).

    ``body`` is not changed: message items without ``type`` get it on a shallow copy.
    """
    checked = dict(body)
    items = body.get("input")
    if isinstance(items, list):
        checked["input"] = [_tagged_item(item, index) for index, item in enumerate(items)]
    tools = body.get("tools")
    if isinstance(tools, list):
        for index, tool in enumerate(tools):
            if isinstance(tool, dict) and tool.get("type") not in _TOOLS:
                kind = tool.get("type")
                refuse_type(
                    f"tools[{index}].type", kind, "tool", _TOOLS, unsupported=_UNSUPPORTED_TOOLS
                )
    try:
        return msgspec.convert(checked, ResponsesRequest)
    except msgspec.ValidationError:
        validate(checked, ResponsesRequest)  # raises the 400 phrased as for chat
        raise


def _tagged_item(item: Any, index: int) -> Any:
    if not isinstance(item, dict):
        raise InvalidRequestError(
            f"Invalid type for 'input[{index}]': expected an object, but got {json_type(item)} "
            "instead.",
            param=f"input[{index}]",
            code="invalid_type",
        )
    kind = item.get("type")
    if kind is None and "role" in item:
        item = {**item, "type": "message"}
        kind = "message"
    if kind == "message" and isinstance(item.get("content"), list):
        for at, part in enumerate(item["content"]):
            if isinstance(part, dict) and part.get("type") not in _PARTS:
                where = f"input[{index}].content[{at}].type"
                refuse_type(where, part.get("type"), "content part", _PARTS)
    if kind in _ITEMS:
        return item
    refuse_type(f"input[{index}].type", kind, "input item", _ITEMS, unsupported=_UNSUPPORTED_ITEMS)
