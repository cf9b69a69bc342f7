"""The tool checks as pipeline hooks: offered tools (POLICY), tool calls (RESPONSE)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, ClassVar

from configs import ToolSettings
from gateway.platform.errors import AuthenticationError
from gateway.policy.audit import AuditEvent, AuditSink, fingerprint
from gateway.policy.auth import Principal
from gateway.policy.pipeline import Call, Hook, Stage
from gateway.policy.tools import _metrics
from gateway.policy.tools._errors import ToolForbiddenError
from gateway.policy.tools._judge import ToolCallJudge, Verdict
from gateway.policy.tools._request import RequestTools, check_request_tools
from gateway.policy.tools._response import ToolCallGuard, has_tool_calls

__all__ = ["ToolRequestHook", "ToolResponseHook"]

_STATE = "tools"
_VERDICTS = "tool_verdicts"


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
        if not call.capabilities.tools:
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
        if call.capabilities.tools:
            guard = self._guard(call)
            await self._check(call, guard.check_response, response, has_tool_calls(response))

    def wants_chunks(self, call: Call) -> bool:
        return call.capabilities.tools  # any chunk may carry a tool call

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        if call.capabilities.tools:
            guard = self._guard(call)
            work = guard.work(chunk)
            if work:  # most chunks are text only: nothing to do
                await self._check(call, guard.check_chunk, chunk, work == 2)

    async def _check(
        self,
        call: Call,
        check: Callable[[dict[str, Any]], None],
        payload: dict[str, Any],
        judges: bool,
    ) -> None:
        """``check(payload)``; in a worker thread when it judges a call's arguments against
        its schema: that is CPU work (~5 us per array item, a pattern up to its timeout, up to
        tools.check_budget_ms), and meanwhile the event loop keeps serving other requests
        between the interpreter's GIL switches. Verdicts are recorded (audit, metrics) here,
        on the loop, blocked calls included."""
        try:
            if judges and self._settings.validate_arguments:
                await asyncio.to_thread(check, payload)
            else:
                check(payload)
        finally:
            verdicts = call.state.get(_VERDICTS)
            if verdicts:
                call.state[_VERDICTS] = []
                for name, arguments, verdict in verdicts:
                    self._decide(call, name, arguments, verdict)

    def _guard(self, call: Call) -> ToolCallGuard:
        guard = call.state.get("tool_guard")
        if isinstance(guard, ToolCallGuard):
            return guard
        checked = call.state.get(_STATE)
        declared = checked.declared if isinstance(checked, RequestTools) else {}
        judge = ToolCallJudge(
            _principal(call),
            declared,
            validate_arguments=self._settings.validate_arguments,
            budget_s=self._settings.check_budget_ms / 1000,
        )
        verdicts: list[tuple[str, str, Verdict]] = []  # recorded by _judge, on the loop
        call.state[_VERDICTS] = verdicts

        def decide(tool: str, arguments: str, verdict: Verdict) -> None:
            call.state[_VERDICTS].append((tool, arguments, verdict))

        guard = ToolCallGuard(judge, mode=self._settings.on_blocked_call, decide=decide)
        call.state["tool_guard"] = guard
        return guard

    def _decide(self, call: Call, tool: str, arguments: str, verdict: Verdict) -> None:
        decision = "allowed" if verdict.allowed else "blocked"
        reason = verdict.reason if verdict.allowed else f"{verdict.reason}: {verdict.detail}"
        _metrics.TOOL_DECISIONS.labels(
            stage="response", decision=decision, reason=verdict.reason
        ).inc()
        # arguments are fingerprinted as the upstream produced them: masked PII stays masked
        remask = call.state.get("pii_remask")
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
