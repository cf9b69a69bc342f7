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
from gateway.policy.tools._response import BlockMode, ToolCallGuard, has_tool_calls

__all__ = ["ToolRequestHook", "ToolResponseHook"]


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


class _Guarded:
    """The response hook's state in the call: the request's tool-call guard, and the
    verdicts it reached that are not recorded yet (a worker thread may judge; the audit and
    metrics are written on the loop)."""

    __slots__ = ("guard", "judged", "verdicts")

    def __init__(self, judge: ToolCallJudge, mode: BlockMode) -> None:
        self.verdicts: list[tuple[str, str, Verdict]] = []
        self.judged = 0  # tool calls judged so far (a span's count)
        self.guard = ToolCallGuard(judge, mode=mode, decide=self._decide)

    def _decide(self, tool: str, arguments: str, verdict: Verdict) -> None:
        self.verdicts.append((tool, arguments, verdict))


class ToolRequestHook(Hook):
    """403 for tools the key may not use (or their removal), 400 for unknown tool_call_ids.

    Its state in the call: the ``RequestTools`` it checked (the tools the request declares).
    """

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
            for name in exc.tools or ("*",):  # one decision per tool, as removals are
                self._record(call, name, "rejected", exc.message)
            raise
        for name in checked.removed:
            self._record(call, name, "removed", "key may not use the tool")
        if checked.removed:
            call.body = checked.body
            call.response_headers[self._settings.removed_header] = ",".join(checked.removed)
        call.put(checked)

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        checked = call.find(RequestTools)
        if checked is None or not (checked.declared or checked.removed):
            return None
        return {
            "ragway.tools.declared": len(checked.declared),
            "ragway.tools.removed": len(checked.removed),
        }

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
            state = self._guarded(call)
            judges = has_tool_calls(response)
            await self._check(call, state, state.guard.check_response, response, judges)

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        state = call.find(_Guarded)
        if state is None or not state.judged:
            return None
        return {"ragway.tools.calls": state.judged}

    def wants_chunks(self, call: Call) -> bool:
        return call.capabilities.tools  # any chunk may carry a tool call

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        if call.capabilities.tools:
            state = self._guarded(call)
            work = state.guard.work(chunk)
            if work:  # most chunks are text only: nothing to do
                await self._check(call, state, state.guard.check_chunk, chunk, work == 2)

    async def _check(
        self,
        call: Call,
        state: _Guarded,
        check: Callable[[dict[str, Any]], None],
        payload: dict[str, Any],
        judges: bool,
    ) -> None:
        """``check(payload)``; in a worker thread when it judges a call's arguments against
        its schema: that is CPU work growing with the arguments (bounded by the pattern timeout
        and tools.check_budget_ms), and meanwhile the event loop keeps serving other requests
        between the interpreter's GIL switches. Verdicts are recorded (audit, metrics) here,
        on the loop, blocked calls included."""
        try:
            if judges and self._settings.validate_arguments:
                await asyncio.to_thread(check, payload)
            else:
                check(payload)
        finally:
            verdicts = state.verdicts
            if verdicts:
                state.judged += len(verdicts)
                state.verdicts = []
                for name, arguments, verdict in verdicts:
                    self._decide(call, name, arguments, verdict)

    def _guarded(self, call: Call) -> _Guarded:
        state = call.find(_Guarded)
        if state is not None:
            return state
        checked = call.find(RequestTools)
        judge = ToolCallJudge(
            _principal(call),
            checked.declared if checked is not None else {},
            validate_arguments=self._settings.validate_arguments,
            budget_s=self._settings.check_budget_ms / 1000,
        )
        state = _Guarded(judge, self._settings.on_blocked_call)
        call.put(state)
        return state

    def _decide(self, call: Call, tool: str, arguments: str, verdict: Verdict) -> None:
        decision = "allowed" if verdict.allowed else "blocked"
        reason = verdict.reason if verdict.allowed else f"{verdict.reason}: {verdict.detail}"
        _metrics.TOOL_DECISIONS.labels(
            stage="response", decision=decision, reason=verdict.reason
        ).inc()
        # arguments are fingerprinted as the upstream produced them: masked PII stays masked
        remask = call.remask
        upstream_form = remask(arguments) if remask is not None else arguments
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
