"""An OpenAI ``chat.completions`` request body -> an Anthropic ``POST /v1/messages`` body.

Nothing that changes the answer is silently dropped. A field in ``_HANDLED`` is translated
(``messages`` by ``_messages``; ``max_tokens``, which Anthropic requires, defaults to the
provider's setting) or ignored where it cannot change the message (``seed``, ``store``,
``metadata``, ``service_tier``; ``stream_options`` is the stream translator's). Extended
thinking comes as Anthropic's own ``thinking`` object (checked, then sent as given) or as
OpenAI's ``reasoning_effort``, which becomes a thinking budget. A field in
``_NEUTRAL`` (``n``, ``logprobs``, penalties, ``response_format``, ...) is accepted only at its
default value. Any other value, or any other field, is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from gateway.platform.errors import InvalidRequestError
from gateway.providers.anthropic._messages import translate_messages

__all__ = ["build_messages_request"]

_HANDLED = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "seed",
        "store",
        "metadata",
        "service_tier",
        "thinking",
        "reasoning_effort",
    }
)

# reasoning_effort -> thinking budget_tokens; "minimal" and "none" ask for no thinking
_EFFORT_BUDGETS: dict[str, int | None] = {
    "none": None,
    "minimal": None,
    "low": 2048,
    "medium": 8192,
    "high": 24576,
}
_MIN_BUDGET = 1024  # Anthropic's smallest thinking budget

# Accepted only at the value that means "OpenAI's default behaviour"; anything else is a 400.
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "frequency_penalty": (None, 0),
    "presence_penalty": (None, 0),
    "logit_bias": (None, {}),
    "response_format": (None, {"type": "text"}),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "web_search_options": (None,),
    "functions": (None,),
    "function_call": (None,),
}


def build_messages_request(
    body: dict[str, Any], *, model: str, default_max_tokens: int, stream: bool
) -> dict[str, Any]:
    """The Anthropic request for ``body``; raises ``InvalidRequestError`` for what cannot map."""
    _reject_unsupported(body)
    system, messages = translate_messages(body.get("messages"))
    max_tokens = _max_tokens(body, default_max_tokens)
    request: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    thinking = _thinking(body, max_tokens)
    if thinking is not None:
        request["thinking"] = thinking
    if system:
        request["system"] = system
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            request[name] = body[name]
    stop = _stop_sequences(body.get("stop"))
    if stop:
        request["stop_sequences"] = stop
    tools = _tools(body.get("tools"))
    if tools:
        request["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"), bool(tools))
    if choice is not None:
        request["tool_choice"] = choice
    user = body.get("user")
    if user is not None:
        if not isinstance(user, str):
            raise InvalidRequestError("'user' must be a string", param="user")
        request["metadata"] = {"user_id": user}
    if stream:
        request["stream"] = True
    return request


def _reject_unsupported(body: dict[str, Any]) -> None:
    for name, value in body.items():
        if name in _HANDLED:
            continue
        neutral = _NEUTRAL.get(name)
        if neutral is None:
            raise InvalidRequestError(
                f"unknown parameter '{name}' (not supported for Anthropic models)", param=name
            )
        if value not in neutral:
            raise InvalidRequestError(
                f"'{name}' = {value!r} is not supported for Anthropic models", param=name
            )


def _max_tokens(body: dict[str, Any], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequestError(f"'{name}' must be a positive integer", param=name)
        return value
    return default


def _thinking(body: dict[str, Any], max_tokens: int) -> dict[str, Any] | None:
    """Anthropic's ``thinking``: the client's object (checked), else one for its effort."""
    thinking = body.get("thinking")
    if thinking is not None:
        return _checked_thinking(thinking, max_tokens)
    effort = body.get("reasoning_effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in _EFFORT_BUDGETS:
        raise InvalidRequestError(
            f"'reasoning_effort' must be one of {', '.join(_EFFORT_BUDGETS)}",
            param="reasoning_effort",
        )
    budget = _EFFORT_BUDGETS[effort]
    if budget is None:
        return None
    budget = min(budget, max_tokens - 1)  # Anthropic wants the budget under max_tokens
    if budget < _MIN_BUDGET:
        raise InvalidRequestError(
            f"'reasoning_effort' needs 'max_tokens' above {_MIN_BUDGET} for Anthropic models",
            param="reasoning_effort",
        )
    return {"type": "enabled", "budget_tokens": budget}


def _checked_thinking(thinking: Any, max_tokens: int) -> dict[str, Any]:
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise InvalidRequestError(
            "'thinking' must be an object whose 'type' is 'enabled', 'disabled' or 'adaptive'",
            param="thinking",
        )
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if (
            isinstance(budget, bool)
            or not isinstance(budget, int)
            or not _MIN_BUDGET <= budget < max_tokens
        ):
            raise InvalidRequestError(
                f"'thinking.budget_tokens' must be an integer of at least {_MIN_BUDGET} "
                "and less than 'max_tokens'",
                param="thinking",
            )
    return dict(thinking)


def _stop_sequences(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise InvalidRequestError("'stop' must be a string or an array of strings", param="stop")


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidRequestError("'tools' must be an array", param="tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise InvalidRequestError(
                f"{param}: only function tools are supported for Anthropic models", param=param
            )
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidRequestError(
                f"{param}.function.name must be a non-empty string", param=f"{param}.function.name"
            )
        name: str = function["name"]
        schema = function.get("parameters")
        if schema is None:
            schema = {"type": "object", "properties": {}}
        elif not isinstance(schema, dict):
            raise InvalidRequestError(
                f"{param}.function.parameters must be a JSON schema object",
                param=f"{param}.function.parameters",
            )
        translated: dict[str, Any] = {"name": name, "input_schema": schema}
        if function.get("description"):
            translated["description"] = function["description"]
        if isinstance(tool.get("cache_control"), dict):  # prompt caching, passed through
            translated["cache_control"] = tool["cache_control"]
        out.append(translated)
    return out


def _tool_choice(choice: Any, parallel: Any, has_tools: bool) -> dict[str, Any] | None:
    if not has_tools:
        if choice in (None, "none", "auto"):
            return None  # nothing to choose from; OpenAI's meaning is preserved
        raise InvalidRequestError("'tool_choice' requires 'tools'", param="tool_choice")
    translated: dict[str, Any]
    if choice is None:
        if parallel is not False:
            return None
        translated = {"type": "auto"}
    elif choice == "auto":
        translated = {"type": "auto"}
    elif choice == "none":
        translated = {"type": "none"}
    elif choice == "required":
        translated = {"type": "any"}
    elif (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        translated = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise InvalidRequestError(
            "'tool_choice' must be 'auto', 'none', 'required' or "
            '{"type": "function", "function": {"name": ...}}',
            param="tool_choice",
        )
    if parallel is False and translated["type"] != "none":
        translated["disable_parallel_tool_use"] = True
    return translated
