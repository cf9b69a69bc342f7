"""Response-side tool checks: whole responses, and streams whose tool-call argument
fragments are held per index until the call is complete, then judged.

The legacy ``function_call`` (the API before tools) is judged the same way: in a message
as one call, in a stream as fragments held until the choice finishes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.policy.tools._errors import ToolCallBlockedError
from gateway.policy.tools._judge import ToolCallJudge, Verdict, arguments_of, refusal

__all__ = ["BlockMode", "Decide", "ToolCallGuard", "has_tool_calls"]

BlockMode = Literal["error", "refuse"]
Decide = Callable[[str, str, Verdict], None]  # (tool name, arguments, verdict) -> audit


@dataclass(slots=True)
class _Pending:
    index: int
    id: str | None = None
    type: str = "function"
    name: str = ""
    parts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceState:
    pending: dict[int, _Pending] = field(default_factory=dict)
    legacy: _Pending | None = None  # a streamed ``function_call``
    sent: int = 0  # allowed calls passed on (their indexes are renumbered 0, 1, ...)


def _add_fragment(call: _Pending, function: Any) -> None:
    """One streamed piece of a call: its name (once), a part of its arguments."""
    if not isinstance(function, dict):
        return
    name = function.get("name")
    if not call.name and isinstance(name, str):
        call.name = name
    if isinstance(function.get("arguments"), str):
        call.parts.append(function["arguments"])


def _holds(state: _ChoiceState) -> bool:
    return bool(state.pending) or state.legacy is not None


def has_tool_calls(response: dict[str, Any]) -> bool:
    """Whether a whole response carries a tool call (or a legacy ``function_call``)."""
    for choice in response.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and (
            message.get("tool_calls") or message.get("function_call")
        ):
            return True
    return False


class ToolCallGuard:
    """Judges every tool call of one response; ``decide`` records each verdict."""

    def __init__(self, judge: ToolCallJudge, *, mode: BlockMode, decide: Decide) -> None:
        self._judge = judge
        self._mode = mode
        self._decide = decide
        self._choices: dict[int, _ChoiceState] = {}

    # -- whole responses -------------------------------------------------------------

    def check_response(self, response: dict[str, Any]) -> None:
        for choice in response.get("choices") or ():
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                continue
            refusals: list[str] = []
            calls = message.get("tool_calls")
            if isinstance(calls, list) and calls:
                kept = [c for c in calls if self._keep(*arguments_of(c), refusals)]
                if kept:
                    message["tool_calls"] = kept
                else:
                    message.pop("tool_calls")
            legacy = message.get("function_call")
            if isinstance(legacy, dict) and not self._keep(*arguments_of(legacy), refusals):
                message.pop("function_call")
            if refusals:
                message["content"] = "\n".join(filter(None, [message.get("content"), *refusals]))
                message["refusal"] = "\n".join(refusals)
                if not message.get("tool_calls") and not message.get("function_call"):
                    choice["finish_reason"] = "stop"

    # -- streams -----------------------------------------------------------------------

    def work(self, chunk: dict[str, Any]) -> int:
        """What ``check_chunk(chunk)`` would do: 0 nothing (text only: most chunks), 1 hold
        back fragments, 2 judge a call (the chunk completes one: a finish, or the first
        fragment of a later call while one is held back)."""
        work = 0
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            fragments = delta.get("tool_calls")
            finish = choice.get("finish_reason")
            if fragments is None and "function_call" not in delta and finish is None:
                continue
            work = 1
            state = self._choices.get(int(choice.get("index") or 0))
            if finish is not None:
                if fragments or delta.get("function_call") or (state and _holds(state)):
                    return 2
            elif (
                state is not None
                and state.pending
                and isinstance(fragments, list)
                and any(
                    isinstance(f, dict) and int(f.get("index") or 0) not in state.pending
                    for f in fragments
                )
            ):
                return 2
        return work

    def check_chunk(self, chunk: dict[str, Any]) -> None:
        """Holds tool-call fragments back; releases each call, judged, once complete."""
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                self._stream_choice(choice)

    def _stream_choice(self, choice: dict[str, Any]) -> None:
        delta = choice["delta"]
        if (
            "tool_calls" not in delta
            and "function_call" not in delta
            and choice.get("finish_reason") is None
        ):
            return  # most chunks: text only, nothing to hold back or release
        index = int(choice.get("index") or 0)
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState()
        out: list[dict[str, Any]] = []
        refusals: list[str] = []
        for fragment in delta.pop("tool_calls", None) or ():
            if not isinstance(fragment, dict):
                continue
            index = int(fragment.get("index") or 0)
            if index not in state.pending:
                for older in [i for i in state.pending if i < index]:  # calls arrive in order
                    self._release(state, state.pending.pop(older), out, refusals)
            pending = state.pending.setdefault(index, _Pending(index))
            pending.id = fragment.get("id") or pending.id
            pending.type = fragment.get("type") or pending.type
            _add_fragment(pending, fragment.get("function"))
        legacy = delta.pop("function_call", None)
        if legacy is not None:
            state.legacy = state.legacy or _Pending(0)
            _add_fragment(state.legacy, legacy)
        finish = choice.get("finish_reason")
        if finish is not None:
            for index in sorted(state.pending):
                self._release(state, state.pending.pop(index), out, refusals)
            if state.legacy is not None:
                call, state.legacy = state.legacy, None
                self._release_legacy(state, call, delta, refusals)
            if finish in {"tool_calls", "function_call"} and state.sent == 0:
                choice["finish_reason"] = "stop"
        if out:
            delta["tool_calls"] = out
        if refusals:
            delta["content"] = (delta.get("content") or "") + "\n".join(refusals)

    def _release(
        self, state: _ChoiceState, call: _Pending, out: list[dict[str, Any]], refusals: list[str]
    ) -> None:
        arguments = "".join(call.parts)
        if not self._keep(call.name, arguments, refusals):
            return
        out.append(
            {
                "index": state.sent,
                "id": call.id,
                "type": call.type,
                "function": {"name": call.name, "arguments": arguments},
            }
        )
        state.sent += 1

    def _release_legacy(
        self, state: _ChoiceState, call: _Pending, delta: dict[str, Any], refusals: list[str]
    ) -> None:
        arguments = "".join(call.parts)
        if self._keep(call.name, arguments, refusals):
            delta["function_call"] = {"name": call.name, "arguments": arguments}
            state.sent += 1

    # -- shared -------------------------------------------------------------------------

    def _keep(self, name: str, arguments: str, refusals: list[str]) -> bool:
        verdict = self._judge.judge(name, arguments)
        self._decide(name, arguments, verdict)
        if verdict.allowed:
            return True
        if self._mode == "error":
            raise ToolCallBlockedError(verdict.message, permission=verdict.permission)
        refusals.append(refusal(name, verdict))
        return False
