"""The tool checks as pipeline hooks: offered tools (POLICY), tool calls (RESPONSE)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, ClassVar

from configs import ToolSettings
from gateway.auth import Principal
from gateway.errors import AuthenticationError
from gateway.pipeline import Call, Hook, Stage
from gateway.tools import _metrics
from gateway.tools._audit import AuditEvent, AuditSink, fingerprint
from gateway.tools._errors import ToolForbiddenError
from gateway.tools._judge import ToolCallJudge, Verdict
from gateway.tools._request import RequestTools, check_request_tools
from gateway.tools._response import ToolCallGuard

__all__ = ["ToolRequestHook", "ToolResponseHook"]

_STATE = "tools"


def _principal(call: Call) -> Principal:
    if call.principal is None:
        raise AuthenticationError("this request was not authenticated")
    return call.principal


def _event(call: Call, tool: str, decision: str, reason: str, **extra: Any) -> AuditEvent:
    return AuditEvent(
        kind="tool",
        key_id=call.principal.key_id if call.principal else None,
        subject=tool,
        decision=decision,
        reason=reason,
        request_id=call.request_id,
        model=call.model,
        **extra,
    )


class ToolRequestHook(Hook):
    """403 for tools the key may not use (or their removal), 400 for unknown tool_call_ids."""

    name: ClassVar[str] = "tool_permissions"
    stage: ClassVar[Stage] = Stage.POLICY

    def __init__(self, settings: ToolSettings, audit: AuditSink) -> None:
        self._settings = settings
        self._audit = audit

    async def on_request(self, call: Call) -> None:
        if call.endpoint != "chat.completions":
            return
        principal = _principal(call)
        check = functools.partial(
            check_request_tools,
            call.body,
            principal,
            on_forbidden=self._settings.on_forbidden_tool,
            validate_schemas=self._settings.validate_arguments,
        )
        try:
            # checking offered schemas against their meta-schema is CPU work that grows with
            # them (tens of ms near the limits): a worker thread, so the loop keeps serving
            offers = "tools" in call.body or "functions" in call.body
            checked = await asyncio.to_thread(check) if offers else check()
        except ToolForbiddenError as exc:
            self._record(call, "*", "rejected", exc.message)
            raise
        for name in checked.removed:
            self._record(call, name, "removed", "key may not use the tool")
        if checked.removed:
            call.body = checked.body
            call.response_headers[self._settings.removed_header] = ",".join(checked.removed)
        call.state[_STATE] = checked

    def _record(self, call: Call, tool: str, decision: str, reason: str) -> None:
        label = "key may not use the tool"  # one metric series, whatever the message says
        _metrics.TOOL_DECISIONS.labels(stage="request", decision=decision, reason=label).inc()
        self._audit.record(_event(call, tool, decision, reason, stage="request"))


class ToolResponseHook(Hook):
    """Every tool call the model makes is judged; blocked ones end as error or refusal."""

    name: ClassVar[str] = "tool_calls"
    stage: ClassVar[Stage] = Stage.RESPONSE

    def __init__(self, settings: ToolSettings, audit: AuditSink) -> None:
        self._settings = settings
        self._audit = audit

    async def on_response(self, call: Call, response: dict[str, Any]) -> None:
        if call.endpoint == "chat.completions":
            self._guard(call).check_response(response)

    def wants_chunks(self, call: Call) -> bool:
        return call.endpoint == "chat.completions"  # any chunk may carry a tool call

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        if call.endpoint == "chat.completions":
            self._guard(call).check_chunk(chunk)

    def _guard(self, call: Call) -> ToolCallGuard:
        guard = call.state.get("tool_guard")
        if isinstance(guard, ToolCallGuard):
            return guard
        checked = call.state.get(_STATE)
        declared = checked.declared if isinstance(checked, RequestTools) else {}
        judge = ToolCallJudge(
            _principal(call), declared, validate_arguments=self._settings.validate_arguments
        )
        # arguments are fingerprinted as the upstream produced them: masked PII stays masked
        remask = call.state.get("pii_remask")

        def decide(tool: str, arguments: str, verdict: Verdict) -> None:
            decision = "allowed" if verdict.allowed else "blocked"
            reason = verdict.reason if verdict.allowed else f"{verdict.reason}: {verdict.detail}"
            _metrics.TOOL_DECISIONS.labels(
                stage="response", decision=decision, reason=verdict.reason
            ).inc()
            upstream_form = remask(arguments) if callable(remask) else arguments
            self._audit.record(
                _event(
                    call,
                    tool,
                    decision,
                    reason,
                    stage="response",
                    arguments_sha256=fingerprint(upstream_form),
                )
            )

        guard = ToolCallGuard(judge, mode=self._settings.on_blocked_call, decide=decide)
        call.state["tool_guard"] = guard
        return guard
