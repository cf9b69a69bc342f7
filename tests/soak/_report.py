"""The soak's figures: latency percentiles, memory growth, the verdict, the table and JSON."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from tests.soak._memory import GroupSample

__all__ = [
    "GATED",
    "MemoryRow",
    "growth_rows",
    "latency_rows",
    "measure",
    "percentile",
    "slope_per_hour",
    "table",
    "verdict",
]

# Group -> the measure its growth is judged on. Postgres backends map the shared buffers,
# whose pages join every backend's RSS as queries touch them; that is cache filling up, not
# a leak, so Postgres is judged on private (anonymous) memory and its RSS is only shown.
GATED: dict[str, str] = {
    "supervisor": "rss",
    "gateway": "rss",
    "worker": "rss",
    "embedder": "rss",
    "redis": "rss",
    "postgres": "private",
}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``nan`` when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_rows(
    latencies: dict[str, list[float]],
    errors: Counter[str],
    seconds: float,
    kinds: tuple[str, ...],
) -> dict[str, dict[str, float]]:
    """Per kind: successes, errors, requests/s and p50/p95/p99/max in milliseconds."""
    rows: dict[str, dict[str, float]] = {}
    for kind, values in latencies.items():
        if kind not in kinds:
            continue
        failed = sum(n for label, n in errors.items() if label.split(":", 1)[0] == kind)
        rows[kind] = {
            "ok": len(values),
            "errors": failed,
            "per_s": (len(values) + failed) / seconds if seconds else 0.0,
            "p50_ms": percentile(values, 0.50) * 1e3,
            "p95_ms": percentile(values, 0.95) * 1e3,
            "p99_ms": percentile(values, 0.99) * 1e3,
            "max_ms": max(values, default=math.nan) * 1e3,
        }
    return rows


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, MiB)`` points, in MiB per hour (``nan``: < 2 points).

    A steady leak shows here even while it is still too small to pass the growth limit.
    """
    if len(points) < 2:
        return math.nan
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return math.nan
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


def measure(sample: GroupSample, judged_on: str | None) -> float:
    """The figure a group is judged on: private memory for Postgres, else RSS."""
    return sample.private_mib if judged_on == "private" else sample.rss_mib


@dataclass(frozen=True, slots=True)
class MemoryRow:
    group: str
    start: GroupSample
    end: GroupSample
    peak_rss_mib: float
    judged_on: str | None  # "rss", "private" or None (shown only)
    trend_mib_per_h: float = math.nan  # of the judged measure over the measured samples

    @property
    def growth_pct(self) -> float:
        before, after = measure(self.start, self.judged_on), measure(self.end, self.judged_on)
        return (after - before) / before * 100 if before else math.nan

    def as_dict(self) -> dict[str, object]:
        return {
            "judged_on": self.judged_on,
            "processes_start": self.start.processes,
            "processes_end": self.end.processes,
            "rss_start_mib": round(self.start.rss_mib, 1),
            "rss_end_mib": round(self.end.rss_mib, 1),
            "private_start_mib": round(self.start.private_mib, 1),
            "private_end_mib": round(self.end.private_mib, 1),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "growth_pct": round(self.growth_pct, 2),
            "trend_mib_per_h": round(self.trend_mib_per_h, 2),
        }


def growth_rows(
    start: dict[str, GroupSample],
    end: dict[str, GroupSample],
    peak: dict[str, float],
    history: dict[str, list[tuple[float, GroupSample]]] | None = None,
) -> list[MemoryRow]:
    """One row per group running at the start; ``history``: measured samples for the trend."""
    rows = []
    for group in start:
        if group not in end or not start[group].processes:
            continue
        judged = GATED.get(group)
        points = [(t, measure(s, judged)) for t, s in (history or {}).get(group, [])]
        rows.append(
            MemoryRow(
                group,
                start[group],
                end[group],
                peak.get(group, 0.0),
                judged,
                slope_per_hour(points),
            )
        )
    return rows


def verdict(
    memory: list[MemoryRow],
    latencies: dict[str, dict[str, float]],
    *,
    max_growth_pct: float,
    max_error_rate: float,
) -> list[str]:
    """Why the soak failed (empty: it passed)."""
    reasons = [
        f"{row.group} {row.judged_on} grew {row.growth_pct:.1f}% (limit {max_growth_pct:g}%)"
        for row in memory
        if row.judged_on and row.growth_pct > max_growth_pct
    ]
    ok = sum(int(r["ok"]) for r in latencies.values())
    failed = sum(int(r["errors"]) for r in latencies.values())
    if ok + failed and failed / (ok + failed) > max_error_rate:
        rate = failed / (ok + failed)
        reasons.append(f"error rate {rate:.3%} over the limit {max_error_rate:.3%}")
    reasons += [f"no {kind} request succeeded" for kind, r in latencies.items() if not r["ok"]]
    return reasons


def table(latencies: dict[str, dict[str, float]], memory: list[MemoryRow]) -> str:
    """The human-readable summary (Markdown tables)."""
    lines = [
        "| traffic | ok | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, r in latencies.items():
        lines.append(
            f"| {kind} | {int(r['ok'])} | {int(r['errors'])} | {r['per_s']:.2f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} |"
        )
    lines += [
        "",
        "| process | procs | RSS start MiB | RSS end MiB | private start | private end "
        "| peak RSS | growth | trend MiB/h | judged on |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in memory:
        lines.append(
            f"| {m.group} | {m.start.processes}->{m.end.processes} | {m.start.rss_mib:.1f} | "
            f"{m.end.rss_mib:.1f} | {m.start.private_mib:.1f} | {m.end.private_mib:.1f} | "
            f"{m.peak_rss_mib:.1f} | {m.growth_pct:+.2f}% | {m.trend_mib_per_h:+.1f} | "
            f"{m.judged_on or '(shown only)'} |"
        )
    return "\n".join(lines)
