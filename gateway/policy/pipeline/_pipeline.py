"""Runs the registered hooks in stage order, applying the fail-closed / observer rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import psycopg

from gateway.platform import tracing
from gateway.platform.errors import GatewayError, database_unavailable
from gateway.policy.pipeline._call import Call
from gateway.policy.pipeline._hook import Hook, Stage

__all__ = ["HookFailedError", "Pipeline"]

_log = logging.getLogger(__name__)


class HookFailedError(GatewayError):
    """A policy hook broke unexpectedly: the request is refused (fail closed)."""

    status_code = 500
    error_type = "server_error"
    default_code = "policy_check_failed"


class Pipeline:
    """The ordered hooks of every API call. Built once per process."""

    def __init__(self, hooks: Iterable[Hook]) -> None:
        ordered = sorted(hooks, key=lambda hook: hook.stage)  # stable: keeps registration order
        self.hooks = tuple(ordered)

        def overriding(method: str) -> tuple[Hook, ...]:
            return tuple(
                h for h in ordered if getattr(type(h), method) is not getattr(Hook, method)
            )

        requests = overriding("on_request")
        self._auth = tuple(h for h in requests if h.stage <= Stage.AUTH)
        self._request = tuple(h for h in requests if h.stage > Stage.AUTH)
        self._response = overriding("on_response")
        self._chunk = overriding("on_chunk")
        self._end = overriding("on_end")
        self._tracer = tracing.tracer()  # None: tracing off (set up before the pipeline)
        self._span_names = {hook.name: f"ragway.{hook.name}" for hook in ordered}

    @property
    def inspects_chunks(self) -> bool:
        return bool(self._chunk)

    # The loops below await each hook directly (no wrapper coroutine per hook: ~10 hook calls
    # per request on the hot path) and hand a failure to ``_failed``.
    async def authenticate(self, call: Call) -> None:
        """The AUTH stage: runs before the request body is parsed."""
        if self._tracer is not None:
            await self._traced(self._tracer, self._auth, call, lambda hook: hook.on_request(call))
            return
        for hook in self._auth:
            try:
                await hook.on_request(call)
            except Exception as exc:  # noqa: BLE001 - sorted out by _failed
                _failed(hook, exc)

    async def check_request(self, call: Call) -> None:
        if self._tracer is not None:
            await self._traced(
                self._tracer, self._request, call, lambda hook: hook.on_request(call)
            )
            return
        for hook in self._request:
            try:
                await hook.on_request(call)
            except Exception as exc:  # noqa: BLE001 - sorted out by _failed
                _failed(hook, exc)

    async def check_response(self, call: Call, response: dict[str, Any]) -> None:
        if self._tracer is not None:
            await self._traced(
                self._tracer,
                self._response,
                call,
                lambda hook: hook.on_response(call, response),
                suffix=".response",
            )
            return
        for hook in self._response:
            try:
                await hook.on_response(call, response)
            except Exception as exc:  # noqa: BLE001 - sorted out by _failed
                _failed(hook, exc)

    async def _traced(
        self,
        tracer: tracing.Tracer,
        hooks: tuple[Hook, ...],
        call: Call,
        step: Callable[[Hook], Awaitable[None]],
        *,
        suffix: str = "",
    ) -> None:
        """The hooks with a span each for those that did work (``Hook.span_attributes``):
        ``ragway.<hook>`` on the request, ``ragway.<hook>.response`` on the answer."""
        parent = tracing.current_span()  # the request's: every step's span is its child
        names = self._span_names
        for hook in hooks:
            started = time.time_ns()
            try:
                await step(hook)
            except Exception as exc:  # noqa: BLE001 - sorted out by _failed
                error = {"error.type": getattr(exc, "code", None) or type(exc).__name__}
                tracing.record_stage(names[hook.name] + suffix, started, error, parent)
                _failed(hook, exc)
                continue
            attributes = hook.span_attributes(call)
            if attributes is not None:
                tracing.record_stage(names[hook.name] + suffix, started, attributes, parent)

    def chunk_hooks(self, call: Call) -> tuple[Hook, ...]:
        """The hooks with work on this call's stream (``Hook.wants_chunks``)."""
        return tuple(hook for hook in self._chunk if hook.wants_chunks(call))

    async def check_chunk(
        self, call: Call, chunk: dict[str, Any], hooks: tuple[Hook, ...] | None = None
    ) -> None:
        for hook in self._chunk if hooks is None else hooks:
            try:
                await hook.on_chunk(call, chunk)
            except Exception as exc:  # noqa: BLE001 - sorted out by _failed
                _failed(hook, exc)

    async def finish(self, call: Call) -> None:
        for hook in self._end:
            try:
                await hook.on_end(call)
            except Exception:  # noqa: BLE001 - the response is out; log, never raise
                _log.exception("hook %s failed in on_end", hook.name)


def _failed(hook: Hook, exc: Exception) -> None:
    """A hook raised: policy hooks refuse the request, observers' errors are logged only."""
    if isinstance(exc, GatewayError):
        if hook.policy:
            raise exc
        _log.error("observer hook %s raised an API error; ignored", hook.name, exc_info=exc)
        return
    if hook.policy and isinstance(exc, psycopg.OperationalError):
        raise database_unavailable(exc) from exc  # Postgres down: retryable, 503
    _log.error("hook %s failed", hook.name, exc_info=exc)
    if hook.policy:
        raise HookFailedError(
            f"the request could not be checked ({hook.name} failed); it was not sent"
        ) from exc
