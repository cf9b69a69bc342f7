"""Request-side tool checks: offered tools, the tool choice and the history's calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema.protocols import Validator

from gateway.platform.errors import InvalidRequestError
from gateway.policy.auth import Principal
from gateway.policy.tools._errors import ToolForbiddenError
from gateway.policy.tools._schema import SchemaProblem, check_schema
from gateway.policy.tools._shapes import OfferedTool, chosen_tools, history_tools, offered_tools

__all__ = ["DeclaredTool", "RequestTools", "check_request_tools"]

_TOOL_FIELDS = ("tools", "functions", "tool_choice", "function_call")


@dataclass(frozen=True, slots=True)
class DeclaredTool:
    """A tool the request offered: its name and the argument schema it declared (if any).

    ``validator`` is the schema's validator when the request check built one.
    """

    name: str
    parameters: Mapping[str, Any] | None
    validator: Validator | None = None


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

    Raises ``ToolForbiddenError`` (403) for a forbidden tool offered (``reject``), forced,
    allowed by ``tool_choice`` or called in the history; ``UnknownToolCallError`` (400) for
    a ``tool`` message answering an unknown call id; ``InvalidRequestError`` (400) for a
    tool field of another shape (see ``_shapes``) or a schema that is not a valid,
    self-contained JSON Schema.
    """
    for named in history_tools(body):
        if not principal.may_use_tool(named.name):
            raise ToolForbiddenError(
                f"the messages call tool '{named.name}', which this API key may not use",
                tools=[named.name],
                param=named.param,
            )
    if not any(key in body for key in _TOOL_FIELDS):
        return RequestTools(body=body)
    offered = offered_tools(body)
    for named in chosen_tools(body):
        if not principal.may_use_tool(named.name):
            raise ToolForbiddenError(
                f"this API key may not use tool '{named.name}'",
                tools=[named.name],
                param=named.param,
            )
    forbidden = [tool for tool in offered if not principal.may_use_tool(tool.name)]
    if forbidden and on_forbidden == "reject":
        names = ", ".join(f"'{tool.name}'" for tool in forbidden)
        raise ToolForbiddenError(
            f"this API key may not use tool {names}",
            tools=[tool.name for tool in forbidden],
            param="tools",
        )
    result = RequestTools(body=_without(body, forbidden) if forbidden else body)
    result.removed = [tool.name for tool in forbidden]
    for tool in offered:
        if tool in forbidden:
            continue
        result.allowed.append(tool.name)
        validator = None
        if validate_schemas and tool.parameters is not None:
            validator = _validator(tool, tool.parameters)
        result.declared[tool.name] = DeclaredTool(tool.name, tool.parameters, validator)
    return result


def _validator(tool: OfferedTool, parameters: Mapping[str, Any]) -> Validator:
    try:
        return check_schema(parameters)
    except SchemaProblem as exc:
        raise InvalidRequestError(
            f"tool '{tool.name}': 'parameters' is not a usable JSON Schema: {exc}",
            param=tool.param,
            code="invalid_tool_schema",
        ) from exc


def _without(body: dict[str, Any], removed: list[OfferedTool]) -> dict[str, Any]:
    copy = dict(body)
    for key in ("tools", "functions"):
        dropped = {tool.index for tool in removed if tool.field == key}
        if not dropped:
            continue
        kept = [spec for index, spec in enumerate(body[key]) if index not in dropped]
        if kept:
            copy[key] = kept
        else:
            copy.pop(key)
    if "tools" not in copy and "functions" not in copy:
        # tool_choice / parallel_tool_calls without tools are rejected by OpenAI
        for key in ("tool_choice", "parallel_tool_calls", "function_call"):
            copy.pop(key, None)
    return copy
