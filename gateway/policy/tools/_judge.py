"""One tool call from the model, judged: may the key use it, did the request offer it, are
its arguments JSON that satisfies the declared schema."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.protocols import Validator

from gateway.policy.auth import Principal
from gateway.policy.tools._budget import CheckTooCostlyError
from gateway.policy.tools._depth import MAX_DEPTH, deeper_than
from gateway.policy.tools._request import DeclaredTool
from gateway.policy.tools._schema import compile_schema, first_error

__all__ = ["CHECK_BUDGET_S", "ToolCallJudge", "Verdict", "arguments_of", "refusal"]

# The event loop waits while a call's arguments are checked: past this, the call is blocked.
CHECK_BUDGET_S = 0.050  # tools.check_budget_ms


@dataclass(frozen=True, slots=True)
class Verdict:
    """``reason``: ok, not_allowed, undeclared, invalid_json, too_deep, schema or too_costly.

    ``detail`` is safe for audit rows (no argument values); ``message`` is for the client.
    """

    allowed: bool
    reason: str
    detail: str = ""
    message: str = ""

    @property
    def permission(self) -> bool:
        return self.reason in {"not_allowed", "undeclared"}


_OK = Verdict(True, "ok")


class ToolCallJudge:
    """Built per request from the request-side check's declared tools.

    ``budget_s`` bounds the schema check of one call's arguments (see ``_budget``).
    """

    def __init__(
        self,
        principal: Principal,
        declared: Mapping[str, DeclaredTool],
        *,
        validate_arguments: bool = True,
        budget_s: float = CHECK_BUDGET_S,
    ) -> None:
        self._principal = principal
        self._budget_s = budget_s
        self._declared = declared
        self._validate = validate_arguments
        self._validators: dict[str, Validator] = {}

    def judge(self, name: str, arguments: str) -> Verdict:
        if not self._principal.may_use_tool(name):
            return Verdict(
                False,
                "not_allowed",
                "key may not use the tool",
                f"the model called tool '{name}', which this API key may not use",
            )
        tool = self._declared.get(name)
        if tool is None:
            return Verdict(
                False,
                "undeclared",
                "tool not offered by the request",
                f"the model called tool '{name}', which the request did not offer",
            )
        if not self._validate:
            return _OK
        started = time.perf_counter()  # parsing and measuring the arguments count too
        document: Any = None
        try:
            document = json.loads(arguments) if arguments.strip() else None
            too_deep = deeper_than(document)
        except json.JSONDecodeError as exc:
            return Verdict(
                False,
                "invalid_json",
                f"arguments are not JSON ({exc.msg})",
                f"the model called tool '{name}' with arguments that are not valid JSON",
            )
        except RecursionError:
            too_deep = True
        if too_deep:
            return Verdict(
                False,
                "too_deep",
                f"arguments nest deeper than {MAX_DEPTH} levels",
                f"the model called tool '{name}' with arguments nested deeper than "
                f"{MAX_DEPTH} levels",
            )
        if document is None:
            document = {}  # an empty argument string means "no arguments"
        if tool.parameters is None:
            return _OK
        validator = tool.validator
        if validator is None:
            validator = self._validators.get(name)
        if validator is None:
            validator = self._validators[name] = compile_schema(tool.parameters)
        try:
            left = self._budget_s - (time.perf_counter() - started)
            problem = first_error(validator, document, budget_s=left)
        except CheckTooCostlyError:
            budget = f"{self._budget_s * 1000:g} ms"
            return Verdict(
                False,
                "too_costly",
                f"checking the arguments against the schema took over {budget}",
                f"the model called tool '{name}' with arguments that could not be checked "
                f"against its schema within {budget}",
            )
        if problem is None:
            return _OK
        where, message = problem
        return Verdict(
            False,
            "schema",
            where,
            f"the model called tool '{name}' with arguments that fail its schema {where}: "
            f"{message}",
        )


def refusal(name: str, verdict: Verdict) -> str:
    """The assistant text that replaces a blocked call in ``refuse`` mode."""
    return f"I could not call the tool '{name}': {verdict.message.removeprefix('the model ')}."


def arguments_of(call: Mapping[str, Any]) -> tuple[str, str]:
    """(name, arguments) of a ``tool_calls`` entry or a legacy ``function_call``."""
    function = call.get("function", call)
    if not isinstance(function, Mapping):
        return "", ""
    name = function.get("name")
    arguments = function.get("arguments")
    return (name if isinstance(name, str) else ""), (
        arguments if isinstance(arguments, str) else ""
    )
