"""Request-side tool checks: offered tools, ``tool_choice`` and ``tool`` messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.auth import Principal
from gateway.errors import InvalidRequestError
from gateway.tools._errors import ToolForbiddenError, UnknownToolCallError
from gateway.tools._schema import SchemaProblem, compile_schema

__all__ = ["DeclaredTool", "RequestTools", "check_request_tools"]


@dataclass(frozen=True, slots=True)
class DeclaredTool:
    """A tool the request offered: its name and the argument schema it declared (if any)."""

    name: str
    parameters: Mapping[str, Any] | None


@dataclass(slots=True)
class RequestTools:
    """What the request-side check decided; the response check uses ``declared``."""

    body: dict[str, Any]
    declared: dict[str, DeclaredTool] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def check_request_tools(
    body: dict[str, Any],
    principal: Principal,
    *,
    on_forbidden: Literal["reject", "remove"],
    validate_schemas: bool = True,
) -> RequestTools:
    """Checks a chat request; returns the body to send (a copy when tools were removed).

    Raises ``ToolForbiddenError`` (403) for a forbidden tool (``reject``) or a forced one,
    ``UnknownToolCallError`` (400) for a ``tool`` message answering an unknown call id and
    ``InvalidRequestError`` (400) for a tool schema that is not a JSON Schema.
    """
    _check_tool_messages(body)
    offered = _offered(body)
    forbidden = [name for name in offered if not principal.may_use_tool(name)]
    forced = _forced(body)
    if forced is not None and not principal.may_use_tool(forced):
        raise ToolForbiddenError(f"this API key may not use tool '{forced}'", param="tool_choice")
    if forbidden and on_forbidden == "reject":
        names = ", ".join(f"'{n}'" for n in forbidden)
        raise ToolForbiddenError(f"this API key may not use tool {names}", param="tools")
    result = RequestTools(body=_without(body, set(forbidden)) if forbidden else body)
    result.removed = forbidden
    for name, parameters in offered.items():
        if name in forbidden:
            continue
        result.allowed.append(name)
        if validate_schemas and parameters is not None:
            try:
                compile_schema(parameters)
            except SchemaProblem as exc:
                raise InvalidRequestError(
                    f"tool '{name}': 'parameters' is not a valid JSON Schema: {exc}",
                    param="tools",
                ) from exc
        result.declared[name] = DeclaredTool(name, parameters)
    return result


def _offered(body: dict[str, Any]) -> dict[str, Mapping[str, Any] | None]:
    offered: dict[str, Mapping[str, Any] | None] = {}
    for tool in body.get("tools") or ():
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type", "function")
        spec = tool.get(kind) if isinstance(tool.get(kind), dict) else None
        if spec is not None and isinstance(spec.get("name"), str):
            params = spec.get("parameters")
            offered[spec["name"]] = params if isinstance(params, dict) else None
    for function in body.get("functions") or ():  # the legacy form
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            offered[function["name"]] = params if isinstance(params, dict) else None
    return offered


def _forced(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type", "function")
        spec = choice.get(kind)
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            return str(spec["name"])
    legacy = body.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        return str(legacy["name"])
    return None


def _without(body: dict[str, Any], names: set[str]) -> dict[str, Any]:
    def keep(spec: Any) -> bool:
        if not isinstance(spec, dict):
            return True
        inner = spec.get(spec.get("type", "function"))
        name = inner.get("name") if isinstance(inner, dict) else spec.get("name")
        return name not in names

    copy = dict(body)
    for key in ("tools", "functions"):
        if isinstance(body.get(key), list):
            kept = [spec for spec in body[key] if keep(spec)]
            if kept:
                copy[key] = kept
            else:
                copy.pop(key)
    if "tools" not in copy and "functions" not in copy:
        # tool_choice / parallel_tool_calls without tools are rejected by OpenAI
        for key in ("tool_choice", "parallel_tool_calls", "function_call"):
            copy.pop(key, None)
    return copy


def _check_tool_messages(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    known: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                known.add(call["id"])
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in known:
                raise UnknownToolCallError(
                    f"messages[{index}] answers tool call '{call_id}', which no earlier "
                    "assistant message made",
                    param=f"messages[{index}].tool_call_id",
                )
