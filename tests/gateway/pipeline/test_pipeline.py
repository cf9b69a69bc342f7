"""The hook contract: stage order, fail-closed policy hooks, observers that never break."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from gateway.platform.errors import RateLimitError
from gateway.policy.pipeline import Call, Hook, HookFailedError, Pipeline, Stage


def new_call() -> Call:
    return Call(request_id="req_1", endpoint="chat.completions", started=0.0)


class Recorder(Hook):
    def __init__(self, name: str, log: list[str], *, fail: Exception | None = None):
        self.label = name
        self.log = log
        self.fail = fail

    async def on_request(self, call: Call) -> None:
        self.log.append(self.label)
        if self.fail is not None:
            raise self.fail


def recorder(name: str, stage: Stage, log: list[str], **kw: Any) -> Hook:
    kind = type(f"Hook_{name}", (Recorder,), {"stage": stage, "name": name})
    hook: Hook = kind(name, log, **kw)
    return hook


async def test_hooks_run_in_stage_order_then_registration_order() -> None:
    log: list[str] = []
    pipeline = Pipeline(
        [
            recorder("quota", Stage.QUOTA, log),
            recorder("auth", Stage.AUTH, log),
            recorder("policy-1", Stage.POLICY, log),
            recorder("pii", Stage.PII, log),
            recorder("policy-2", Stage.POLICY, log),
        ]
    )
    call = new_call()
    await pipeline.authenticate(call)
    assert log == ["auth"]
    await pipeline.check_request(call)
    assert log == ["auth", "policy-1", "policy-2", "quota", "pii"]


async def test_policy_hooks_fail_closed() -> None:
    log: list[str] = []
    refusing = recorder("quota", Stage.QUOTA, log, fail=RateLimitError("over quota"))
    with pytest.raises(RateLimitError):
        await Pipeline([refusing]).check_request(new_call())
    broken = recorder("pii", Stage.PII, log, fail=RuntimeError("analyzer crashed"))
    with pytest.raises(HookFailedError) as caught:
        await Pipeline([broken]).check_request(new_call())
    assert caught.value.status_code == 500
    assert "pii" in caught.value.message


async def test_observer_hooks_and_on_end_never_break_a_request() -> None:
    class Observer(Hook):
        name: ClassVar[str] = "observer"
        policy: ClassVar[bool] = False

        async def on_request(self, call: Call) -> None:
            raise RuntimeError("metrics backend down")

        async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
            raise RateLimitError("even API errors are ignored from observers")

    class Settle(Hook):
        name: ClassVar[str] = "settle"
        stage: ClassVar[Stage] = Stage.USAGE
        ended: ClassVar[list[str]] = []

        async def on_end(self, call: Call) -> None:
            self.ended.append(call.request_id)
            raise RuntimeError("ledger down")

    pipeline = Pipeline([Observer(), Settle()])
    call = new_call()
    await pipeline.check_request(call)
    await pipeline.check_chunk(call, {"choices": []})
    await pipeline.finish(call)
    assert Settle.ended == ["req_1"]
    assert pipeline.inspects_chunks
    assert not Pipeline([Settle()]).inspects_chunks


async def test_only_hooks_that_want_a_calls_chunks_see_them() -> None:
    seen: list[str] = []

    class Chunks(Hook):
        stage: ClassVar[Stage] = Stage.RESPONSE

        def __init__(self, name: str, wanted: bool) -> None:
            self.label, self.wanted = name, wanted

        def wants_chunks(self, call: Call) -> bool:
            return self.wanted

        async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
            seen.append(self.label)

    pipeline = Pipeline([Chunks("metered", True), Chunks("idle", False)])
    call = new_call()
    hooks = pipeline.chunk_hooks(call)
    for _ in range(3):
        await pipeline.check_chunk(call, {"choices": []}, hooks)
    assert seen == ["metered"] * 3
    assert pipeline.chunk_hooks(call) == hooks
    assert Pipeline([Chunks("idle", False)]).chunk_hooks(call) == ()
