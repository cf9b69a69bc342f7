"""After each API call: one access-log line and the request metrics; never raises.

The access line carries ids, names, numbers and timings only -- never prompt or completion
text, never the key itself (its id is logged).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Collection
from typing import Any

from configs import log_info_fields
from gateway.policy.observability import _metrics as m
from gateway.policy.pipeline import Call
from gateway.providers.routing import BreakerState

__all__ = ["RequestObserver"]

_access = logging.getLogger("ragway.access")
_log = logging.getLogger(__name__)

UNKNOWN_MODEL = "unknown"


_MAX_BATCH = 256


class RequestObserver:
    """Metrics and the access log for API calls; also the router's metrics observer.

    A finished call is recorded in a batch, at most ``batch_s`` later (``flush`` records what
    waits at once: the metrics route calls it, and so does shutdown). Recording is the work
    after a response -- ~8 metric updates and a log line -- and the next request on the
    connection usually arrives while it runs: done at once it delays that request, done in
    a batch it mostly falls in the gaps between requests.
    """

    def __init__(
        self, *, models: Collection[str], access_log: bool = True, batch_s: float = 0.005
    ) -> None:
        self._models = frozenset(models)
        self._access_log = access_log
        self._batch_s = batch_s
        self._children: dict[tuple[str, ...], Any] = {}
        self._done: list[tuple[Call, float]] = []
        self._timer: asyncio.TimerHandle | None = None

    def model_label(self, alias: str | None) -> str:
        return alias if alias is not None and alias in self._models else UNKNOWN_MODEL

    def started(self, endpoint: str) -> None:
        self._child("in_flight", endpoint).inc()

    def busy_polled(self, seconds: float) -> None:
        """The event loop polled, not slept, for ``seconds`` (``gateway.api.BusyPoll``)."""
        m.BUSY_POLL.inc(seconds)

    def finished(self, call: Call, now: float) -> None:
        """``call`` ended at ``now`` (``perf_counter``): recorded with the next batch."""
        self._done.append((call, now))
        if len(self._done) >= _MAX_BATCH:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self._batch_s, self.flush)
            except RuntimeError:  # no loop running: record now
                self.flush()

    def flush(self) -> None:
        """Record every finished call that waits; never raises."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        done, self._done = self._done, []
        # Outside any request's log context: each line names its own request (``_record``).
        contextvars.Context().run(self._record_all, done)

    def _record_all(self, done: list[tuple[Call, float]]) -> None:
        for call, now in done:
            try:
                self._record(call, now)
            except Exception:  # noqa: BLE001 - an observer never breaks a request
                _log.exception("recording the request failed")

    def _record(self, call: Call, now: float) -> None:
        endpoint = call.endpoint
        model = self.model_label(call.model)
        total_s = now - call.started
        upstream_s = call.trace.upstream_s
        # A traced request's latencies carry its trace id (OpenMetrics exemplars): a slow
        # bucket links to a trace. Tracing off: None, and observe() does nothing more.
        ids = call.trace_ids
        exemplar = None if ids is None else {"trace_id": ids[0]}
        self._child("in_flight", endpoint).dec()
        self._child("requests", endpoint, model, str(call.status)).inc()
        self._child("duration", endpoint, model).observe(total_s, exemplar)
        if call.trace.attempts:
            self._child("upstream", endpoint, model).observe(upstream_s, exemplar)
        overhead_s = call.overhead_s
        if overhead_s is not None:
            self._child("overhead", endpoint).observe(overhead_s, exemplar)
        if call.first_byte_s is not None:
            self._child("ttft", model).observe(call.first_byte_s, exemplar)
        usage = call.usage
        if usage.prompt_tokens:
            self._child("tokens", model, "input").inc(usage.prompt_tokens)
        if usage.completion_tokens:
            self._child("tokens", model, "output").inc(usage.completion_tokens)
        if self._access_log and _access.isEnabledFor(logging.INFO):
            principal = call.principal
            error = call.error
            fields = {
                "request_id": call.request_id,
                "route": endpoint,
                "key_id": principal.key_id if principal is not None else None,
                "model": call.model,
                "deployment": call.trace.deployment,
                "attempts": call.trace.attempts,
                "stream": call.stream,
                "status": call.status,
                "latency_ms": round(total_s * 1000, 3),
                "upstream_ms": round(upstream_s * 1000, 3),
                "overhead_ms": round(overhead_s * 1000, 3) if overhead_s is not None else None,
                "ttft_ms": round(call.first_byte_s * 1000, 3)
                if call.first_byte_s is not None
                else None,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "error_code": error.code if error is not None else None,
            }
            if ids is not None:  # the line names the request's span (recorded after it ended)
                fields["trace_id"], fields["span_id"] = ids
            log_info_fields(_access, "request", fields)

    # -- the router's observer -------------------------------------------------
    def upstream_error(self, deployment: str, kind: str) -> None:
        self._child("upstream_errors", deployment, kind).inc()

    def fallback(self, deployment: str) -> None:
        self._child("fallbacks", deployment).inc()

    def breaker_changed(self, deployment: str, state: BreakerState) -> None:
        self._child("breaker", deployment).set(int(state))

    def _child(self, kind: str, *labels: str) -> Any:
        key = (kind, *labels)
        child = self._children.get(key)
        if child is None:
            metric = _METRICS[kind]
            child = self._children[key] = metric.labels(*labels)
        return child


_METRICS: dict[str, Any] = {
    "in_flight": m.IN_FLIGHT,
    "requests": m.REQUESTS,
    "duration": m.REQUEST_DURATION,
    "upstream": m.UPSTREAM_DURATION,
    "overhead": m.OVERHEAD,
    "ttft": m.TIME_TO_FIRST_TOKEN,
    "tokens": m.TOKENS,
    "upstream_errors": m.UPSTREAM_ERRORS,
    "fallbacks": m.FALLBACKS,
    "breaker": m.BREAKER_STATE,
}
