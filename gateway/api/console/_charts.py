"""Bar charts as data for server-rendered SVG: one bar per day, series stacked.

The console draws its charts without a script (the CSP allows none inline, and a chart
should not need one): this module turns daily values into rectangles, axis ticks and
labels in a fixed viewBox, and ``templates/_chart.html`` writes them out as an ``<svg>``
with a ``<title>`` per bar (the tooltip) and a table with the same numbers for readers that
cannot see the picture. Pure functions, so the geometry is tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["Bar", "BarChart", "Series", "Tick", "bar_chart", "nice_ceiling"]

WIDTH = 640.0
HEIGHT = 200.0
LEFT = 64.0  # room for the y-axis labels
RIGHT = 8.0
TOP = 10.0
BOTTOM = 24.0  # room for the day labels
MAX_DAY_LABELS = 8


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked series: its name (legend) and one value per day."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # series-1 .. series-4 (console.css colours them)
    title: str  # the tooltip: day, series and value


@dataclass(frozen=True, slots=True)
class Tick:
    """A label on an axis at ``position`` (y for the value axis, x for days)."""

    position: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """Everything ``_chart.html`` draws; ``total`` is the sum of every series and day."""

    key: str  # names the data- attribute that carries the total (data-requests, ...)
    title: str
    width: float
    height: float
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (series name, css class)
    columns: tuple[str, ...]  # the fallback table's value columns
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (day, formatted values)
    total: float
    total_text: str
    summary: str  # aria-label

    @property
    def data_total(self) -> str:
        """The total for the ``data-<key>`` attribute: an integer when it is one."""
        return str(int(self.total)) if float(self.total).is_integer() else f"{self.total:.6f}"

    @property
    def baseline(self) -> float:
        return self.height - BOTTOM

    @property
    def left(self) -> float:
        return LEFT

    @property
    def right(self) -> float:
        return self.width - RIGHT


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def bar_chart(
    key: str,
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    fmt: Callable[[float], str],
) -> BarChart:
    """A stacked bar chart of ``series`` over ``days`` (each series has a value per day)."""
    for one in series:
        if len(one.values) != len(days):
            raise ValueError(f"series {one.name!r}: {len(one.values)} values, {len(days)} days")
    stacks = [sum(one.values[i] for one in series) for i in range(len(days))]
    top = nice_ceiling(max(stacks, default=0.0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar_width = max(slot * 0.8, 1.0)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar_width) / 2
        base = HEIGHT - BOTTOM
        for n, one in enumerate(series):
            value = one.values[i]
            if value <= 0:
                continue
            height = value / top * plot_height
            base -= height
            bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    css=f"series-{n % 4 + 1}",
                    title=f"{day.isoformat()} · {one.name}: {fmt(value)}",
                )
            )
    y_ticks = tuple(
        Tick(round(HEIGHT - BOTTOM - f * plot_height, 2), fmt(top * f)) for f in (0.0, 0.5, 1.0)
    )
    every = max(1, math.ceil(len(days) / MAX_DAY_LABELS))
    x_ticks = tuple(
        Tick(round(LEFT + i * slot + slot / 2, 2), day.strftime("%b %d"))
        for i, day in enumerate(days)
        if i % every == 0
    )
    total = sum(stacks)
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else "no days"
    return BarChart(
        key=key,
        title=title,
        width=WIDTH,
        height=HEIGHT,
        bars=tuple(bars),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        legend=tuple((one.name, f"series-{n % 4 + 1}") for n, one in enumerate(series)),
        columns=tuple(one.name for one in series),
        rows=tuple(
            (day.isoformat(), tuple(fmt(one.values[i]) for one in series))
            for i, day in enumerate(days)
        ),
        total=total,
        total_text=fmt(total),
        summary=f"{title}, {span}: {fmt(total)} in all",
    )
