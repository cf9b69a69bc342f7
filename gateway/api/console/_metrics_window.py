"""Recent traffic from the process's own Prometheus counters, without a Prometheus server.

The gateway's metrics are cumulative since the process started. :class:`MetricsWindow`
keeps timestamped snapshots of the exposition (at most one per ``every_s``, for
``keep_s``) and reports what changed against the oldest snapshot of the last
``window_s``: request counts, error counts, upstream errors and latency quantiles (from
the histogram buckets' deltas, interpolated as Prometheus' ``histogram_quantile`` does).
Before a second snapshot exists there is no baseline: the report is "since start", the
totals. Snapshots are taken only when someone looks (the health page and its refresh):
no background task, and nothing kept while nobody watches.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["MetricsWindow", "Recent", "Snapshot", "Traffic", "parse_exposition", "quantile"]

_REQUESTS = "ragway_requests_total"
_DURATION_BUCKET = "ragway_request_duration_seconds_bucket"
_UPSTREAM_ERRORS = "ragway_upstream_errors_total"
_BREAKER = "ragway_circuit_breaker_state"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The counters that matter to the health page at one moment (summed over routes)."""

    at: float  # the window's clock (monotonic seconds)
    requests: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (model, status)
    buckets: Mapping[str, Mapping[float, float]] = field(default_factory=dict)  # model -> le
    upstream_errors: Mapping[str, float] = field(default_factory=dict)  # deployment
    breakers: Mapping[str, int] = field(default_factory=dict)  # deployment -> 0/1/2


def parse_exposition(text: str, *, at: float) -> Snapshot:
    """The page's counters out of a Prometheus text exposition."""
    requests: dict[tuple[str, str], float] = {}
    buckets: dict[str, dict[float, float]] = {}
    errors: dict[str, float] = {}
    breakers: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == _REQUESTS:
                key = (labels.get("model", ""), labels.get("status", ""))
                requests[key] = requests.get(key, 0.0) + sample.value
            elif sample.name == _DURATION_BUCKET:
                per_model = buckets.setdefault(labels.get("model", ""), {})
                le = float(labels["le"])
                per_model[le] = per_model.get(le, 0.0) + sample.value
            elif sample.name == _UPSTREAM_ERRORS:
                name = labels.get("deployment", "")
                errors[name] = errors.get(name, 0.0) + sample.value
            elif sample.name == _BREAKER:
                breakers[labels.get("deployment", "")] = int(sample.value)
    return Snapshot(at, requests, buckets, errors, breakers)


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The ``q`` quantile of cumulative bucket counts (``le`` -> count), or None if empty.

    Linear within the bucket that holds the rank; a rank in the ``+Inf`` bucket answers
    the largest finite bound (as Prometheus does).
    """
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for upper in bounds:
        count = buckets[upper]
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


@dataclass(frozen=True, slots=True)
class Traffic:
    """One model alias over the window: requests, those answered >= 400, and latency."""

    requests: float = 0.0
    errors: float = 0.0
    p50_s: float | None = None
    p95_s: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True, slots=True)
class Recent:
    """What changed over the window; ``seconds`` None: no baseline yet, totals since start."""

    seconds: float | None
    models: Mapping[str, Traffic]
    upstream_errors: Mapping[str, float]
    breakers: Mapping[str, int]

    def traffic(self, alias: str) -> Traffic:
        return self.models.get(alias, Traffic())

    def per_minute(self, count: float) -> float | None:
        """A count over the window as a rate (None when the window has no length yet)."""
        return count * 60 / self.seconds if self.seconds else None


K = TypeVar("K", str, float)


def _delta(now: Mapping[K, float], then: Mapping[K, float]) -> dict[K, float]:
    # counters only grow in a process; a worker restarted under multiprocess mode can
    # make a sum drop, which must read as "nothing new", not as a negative count
    return {key: max(0.0, value - then.get(key, 0.0)) for key, value in now.items()}


def _compare(current: Snapshot, base: Snapshot, seconds: float | None) -> Recent:
    requests: dict[str, float] = {}
    errors: dict[str, float] = {}
    for (model, status), value in current.requests.items():
        added = max(0.0, value - base.requests.get((model, status), 0.0))
        requests[model] = requests.get(model, 0.0) + added
        if status.isdigit() and int(status) >= 400:
            errors[model] = errors.get(model, 0.0) + added
    models: dict[str, Traffic] = {}
    for model in requests.keys() | current.buckets.keys():
        buckets = _delta(current.buckets.get(model, {}), base.buckets.get(model, {}))
        models[model] = Traffic(
            requests=requests.get(model, 0.0),
            errors=errors.get(model, 0.0),
            p50_s=quantile(0.5, buckets),
            p95_s=quantile(0.95, buckets),
        )
    upstream = _delta(current.upstream_errors, base.upstream_errors)
    return Recent(seconds, models, upstream, dict(current.breakers))


class MetricsWindow:
    """Snapshots of one process's metrics and the deltas over the last ``window_s``."""

    def __init__(
        self,
        *,
        every_s: float = 10.0,
        keep_s: float = 600.0,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._every_s = every_s
        self._keep_s = keep_s
        self._window_s = window_s
        self._clock = clock
        self._snapshots: deque[Snapshot] = deque()

    def observe(self, exposition: str) -> Recent:
        """Take a snapshot (if the last is ``every_s`` old) and report the recent changes."""
        now = self._clock()
        current = parse_exposition(exposition, at=now)
        while self._snapshots and self._snapshots[0].at < now - self._keep_s:
            self._snapshots.popleft()
        base = next((s for s in self._snapshots if s.at >= now - self._window_s), None)
        if not self._snapshots or now - self._snapshots[-1].at >= self._every_s:
            self._snapshots.append(current)
        if base is None or base.at >= now:
            return _compare(current, Snapshot(now), None)
        return _compare(current, base, now - base.at)
