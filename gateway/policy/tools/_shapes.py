"""Every place a chat request names a tool, read strictly.

``tools`` / ``functions``, ``tool_choice`` / ``function_call``, and assistant ``tool_calls`` /
``function_call`` and ``function`` messages must have exactly the shape OpenAI documents for
chat completions (``type`` is case-sensitive): a shape the permission check could misread is a
400, never forwarded. Only function tools exist here, since the response guard judges them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gateway.platform.errors import InvalidRequestError
from gateway.policy.tools._depth import MAX_DEPTH, json_text_deeper_than
from gateway.policy.tools._errors import UnknownToolCallError

__all__ = ["NamedTool", "OfferedTool", "chosen_tools", "history_tools", "offered_tools"]

_CHOICES = ("none", "auto", "required")
_LEGACY_CHOICES = ("none", "auto")


@dataclass(frozen=True, slots=True)
class OfferedTool:
    """``tools[index]`` or ``functions[index]``: a function the model may call."""

    name: str
    parameters: Mapping[str, Any] | None
    field: Literal["tools", "functions"]
    index: int

    @property
    def param(self) -> str:
        """Where its ``parameters`` are, in OpenAI's ``param`` notation."""
        inner = ".function" if self.field == "tools" else ""
        return f"{self.field}[{self.index}]{inner}.parameters"


@dataclass(frozen=True, slots=True)
class NamedTool:
    """A tool named by a choice or a history message, and where (``param``)."""

    name: str
    param: str


def offered_tools(body: Mapping[str, Any]) -> list[OfferedTool]:
    """The functions ``tools`` and ``functions`` offer; 400 for any other shape."""
    offered: list[OfferedTool] = []
    for index, tool in enumerate(_array(body, "tools")):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise _invalid(where, "must be an object")
        if tool.get("type") != "function":
            raise _invalid(
                f"{where}.type",
                f"unsupported tool type {tool.get('type')!r}; chat tools have type 'function'",
            )
        spec = _function(tool.get("function"), f"{where}.function")
        parameters = _parameters(spec, f"{where}.function")
        offered.append(OfferedTool(spec["name"], parameters, "tools", index))
    for index, function in enumerate(_array(body, "functions")):
        where = f"functions[{index}]"
        spec = _function(function, where)
        offered.append(OfferedTool(spec["name"], _parameters(spec, where), "functions", index))
    return offered


def chosen_tools(body: Mapping[str, Any]) -> list[NamedTool]:
    """The functions ``tool_choice`` / ``function_call`` force or allow; 400 for odd shapes."""
    chosen: list[NamedTool] = []
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "function" and set(choice) == {"type", "function"}:
            spec = _function(choice["function"], "tool_choice.function")
            chosen.append(NamedTool(spec["name"], "tool_choice"))
        elif kind == "allowed_tools" and set(choice) == {"type", "allowed_tools"}:
            chosen.extend(_allowed_tools(choice["allowed_tools"]))
        else:
            raise _invalid(
                "tool_choice",
                "must be 'none', 'auto', 'required', "
                '{"type": "function", "function": {"name": ...}} or '
                '{"type": "allowed_tools", "allowed_tools": {...}}',
            )
    elif choice is not None and choice not in _CHOICES:
        raise _invalid("tool_choice", f"must be one of {', '.join(map(repr, _CHOICES))}")
    legacy = body.get("function_call")
    if isinstance(legacy, dict) and set(legacy) == {"name"} and _is_name(legacy["name"]):
        chosen.append(NamedTool(legacy["name"], "function_call"))
    elif legacy is not None and legacy not in _LEGACY_CHOICES:
        raise _invalid("function_call", "must be 'none', 'auto' or {\"name\": ...}")
    return chosen


def history_tools(body: Mapping[str, Any]) -> Iterator[NamedTool]:
    """The functions earlier messages called or answered, in order.

    Raises 400 for a malformed call, for arguments nested deeper than ``MAX_DEPTH`` and
    (``UnknownToolCallError``) for a ``tool`` message answering a call no message made.
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    known: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        for j, call in enumerate(_array(message, "tool_calls", message_index=i)):
            where = f"messages[{i}].tool_calls[{j}]"
            if not isinstance(call, dict) or call.get("type") != "function":
                raise _invalid(where, "must be a call of type 'function'")
            spec = _function(call.get("function"), f"{where}.function")
            _arguments(spec, f"{where}.function")
            if isinstance(call.get("id"), str):
                known.add(call["id"])
            yield NamedTool(spec["name"], where)
        if message.get("function_call") is not None:
            where = f"messages[{i}].function_call"
            spec = _function(message["function_call"], where)
            _arguments(spec, where)
            yield NamedTool(spec["name"], where)
        role = message.get("role")
        if role == "function":
            if not _is_name(message.get("name")):
                raise _invalid(f"messages[{i}].name", "a function message names its function")
            yield NamedTool(message["name"], f"messages[{i}].name")
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in known:
                raise UnknownToolCallError(
                    f"messages[{i}] answers tool call '{call_id}', which no earlier "
                    "assistant message made",
                    param=f"messages[{i}].tool_call_id",
                )


def _allowed_tools(spec: Any) -> Iterator[NamedTool]:
    where = "tool_choice.allowed_tools"
    if (
        not isinstance(spec, dict)
        or not set(spec) <= {"mode", "tools"}
        or spec.get("mode") not in ("auto", "required")
        or not isinstance(spec.get("tools"), list)
        or not spec["tools"]
    ):
        raise _invalid(where, "must be {\"mode\": 'auto' or 'required', \"tools\": [...]}")
    for k, tool in enumerate(spec["tools"]):
        param = f"{where}.tools[{k}]"
        if not isinstance(tool, dict) or set(tool) != {"type", "function"}:
            raise _invalid(param, 'must be {"type": "function", "function": {"name": ...}}')
        if tool["type"] != "function":
            raise _invalid(f"{param}.type", "must be 'function'")
        yield NamedTool(_function(tool["function"], f"{param}.function")["name"], param)


def _array(
    container: Mapping[str, Any], key: str, *, message_index: int | None = None
) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        param = key if message_index is None else f"messages[{message_index}].{key}"
        raise InvalidRequestError(
            f"Invalid type for '{param}': expected an array.", param=param, code="invalid_type"
        )
    return value


def _function(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise _invalid(where, 'must be an object with a "name"')
    if not _is_name(spec.get("name")):
        raise _invalid(f"{where}.name", "must be a non-empty string")
    return spec


def _parameters(spec: dict[str, Any], where: str) -> Mapping[str, Any] | None:
    parameters = spec.get("parameters")
    if parameters is None or isinstance(parameters, dict):
        return parameters
    raise _invalid(f"{where}.parameters", "must be a JSON Schema object")


def _arguments(spec: dict[str, Any], where: str) -> None:
    arguments = spec.get("arguments")
    if arguments is None:
        return
    if not isinstance(arguments, str):
        raise _invalid(f"{where}.arguments", "must be a string of JSON")
    if json_text_deeper_than(arguments):
        raise _invalid(f"{where}.arguments", f"nests deeper than {MAX_DEPTH} levels")


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _invalid(param: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"Invalid value for '{param}': {problem}.", param=param)
