"""One soak run: start the stack, warm up, drive load, sample memory, report, stop."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from openai import AsyncOpenAI

from tests.soak._memory import GroupSample, process_table, sample_group
from tests.soak._report import growth_rows, latency_rows, table, verdict
from tests.soak._stack import Stack
from tests.soak._traffic import Recorder, Traffic

__all__ = ["Options", "run"]


@dataclass(frozen=True)
class Options:
    duration_s: float
    warmup_s: float
    concurrency: int
    rate: float
    sample_every_s: float
    seed_files: int
    keep_files: int
    kinds: tuple[str, ...]
    max_growth_pct: float
    max_error_rate: float
    out: Path
    command: str


# Processes whose children are groups of their own (the supervisor's) or are the stack.
_ALONE = frozenset({"supervisor", "driver"})


class _Sampler:
    """RSS of every group, appended to ``rss.csv`` at each sample."""

    def __init__(self, roots: dict[str, int | None], path: Path) -> None:
        self._roots = {name: pid for name, pid in roots.items() if pid is not None}
        self._roots["driver"] = os.getpid()
        self._file: IO[str] = path.open("w", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(
            ["utc", "elapsed_s", "phase", "group", "processes", "rss_mib", "private_mib"]
        )
        self._t0 = time.monotonic()
        self.peak: dict[str, float] = {}
        # (seconds, sample) per group from the start sample on: the memory trend.
        self.history: dict[str, list[tuple[float, GroupSample]]] = {}

    def sample(self, phase: str) -> dict[str, GroupSample]:
        table_ = process_table()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        elapsed = round(time.monotonic() - self._t0, 1)
        samples = {
            name: sample_group(pid, table_, children=name not in _ALONE)
            for name, pid in self._roots.items()
        }
        for name, s in samples.items():
            self._csv.writerow(
                [now, elapsed, phase, name, s.processes, f"{s.rss_mib:.1f}", f"{s.private_mib:.1f}"]
            )
            self.peak[name] = max(self.peak.get(name, 0.0), s.rss_mib)
            if phase in ("start", "measured", "end"):
                self.history.setdefault(name, []).append((elapsed, s))
        self._file.flush()
        return samples

    def close(self) -> None:
        self._file.close()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a soak like Ctrl-C: the finally blocks clean up


def run(options: Options) -> int:
    """Run one soak; 0 when it passed, 1 when it failed its limits, 130 when interrupted."""
    options.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    stack = Stack(log_path=options.out / "stack.log")
    try:
        print(f"starting the stack (log: {options.out / 'stack.log'}) ...", flush=True)
        began = time.monotonic()
        stack.start()
        print(
            f"stack ready at {stack.base_url} in {time.monotonic() - began:.1f} s; "
            f"processes: {stack.roots}",
            flush=True,
        )
        return asyncio.run(_soak(stack, options))
    except KeyboardInterrupt:
        print("interrupted; stopping the stack", flush=True)
        return 130
    finally:
        killed = stack.stop()
        if killed:
            print(f"had to kill: {killed}", flush=True)
        print("stack stopped", flush=True)


async def _soak(stack: Stack, options: Options) -> int:
    client = AsyncOpenAI(
        base_url=f"{stack.base_url}/v1", api_key=stack.admin_key, max_retries=0, timeout=120
    )
    sampler = _Sampler(stack.roots, options.out / "rss.csv")
    recorder = Recorder()
    try:
        began = time.monotonic()
        store = await client.vector_stores.create(name="soak")
        traffic = Traffic(
            client,
            store.id,
            recorder,
            concurrency=options.concurrency,
            rate=options.rate,
            keep_files=options.keep_files,
            kinds=options.kinds,
        )
        await traffic.seed_store(options.seed_files)
        print(
            f"store {store.id} seeded with {options.seed_files} files "
            f"in {time.monotonic() - began:.1f} s",
            flush=True,
        )
        stop = asyncio.Event()
        load = asyncio.create_task(traffic.run(stop))
        sampler.sample("begin")
        await _wait(options.warmup_s, options.sample_every_s, sampler, "warmup", recorder, load)
        start = sampler.sample("start")
        recorder.measuring = True
        load_start = os.getloadavg()
        began = time.monotonic()
        await _wait(options.duration_s, options.sample_every_s, sampler, "measured", recorder, load)
        end = sampler.sample("end")
        recorder.measuring = False
        measured_s = time.monotonic() - began
        stop.set()
        try:
            await asyncio.wait_for(load, 120)
        except TimeoutError:
            print("some requests were still running after 120 s; cancelled", flush=True)
    finally:
        sampler.close()
        await client.close()
    latencies = latency_rows(recorder.latencies, recorder.errors, measured_s, options.kinds)
    memory = growth_rows(start, end, sampler.peak, sampler.history)
    reasons = verdict(
        memory,
        latencies,
        max_growth_pct=options.max_growth_pct,
        max_error_rate=options.max_error_rate,
    )
    print("\n" + table(latencies, memory))
    if recorder.errors:
        print("\nerrors: " + ", ".join(f"{k} x{n}" for k, n in recorder.errors.most_common()))
    report = {
        "command": options.command,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(measured_s, 1),
        "warmup_s": options.warmup_s,
        "concurrency": options.concurrency,
        "rate_per_s": options.rate,
        "cpu_count": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "traffic": latencies,
        "errors": dict(recorder.errors),
        "warmup": {"requests": recorder.warmup_requests, "errors": dict(recorder.warmup_errors)},
        "memory": {row.group: row.as_dict() for row in memory},
        "pids": stack.roots,
        "limits": {
            "max_growth_pct": options.max_growth_pct,
            "max_error_rate": options.max_error_rate,
        },
        "passed": not reasons,
        "failures": reasons,
    }
    (options.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nreport: {options.out / 'report.json'}; RSS samples: {options.out / 'rss.csv'}")
    print("PASSED" if not reasons else "FAILED: " + "; ".join(reasons), flush=True)
    return 0 if not reasons else 1


async def _wait(
    seconds: float,
    every_s: float,
    sampler: _Sampler,
    phase: str,
    recorder: Recorder,
    load: asyncio.Task[None],
) -> None:
    """Let the load run ``seconds``, sampling memory every ``every_s``; fail fast if it died."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        done, _ = await asyncio.wait({load}, timeout=min(every_s, left))
        if done:
            load.result()  # raises what killed the load driver
            raise RuntimeError("the load driver stopped early")
        if deadline - time.monotonic() > 1:
            samples = sampler.sample(phase)
            rss = ", ".join(f"{k} {s.rss_mib:.0f}" for k, s in samples.items() if s.processes)
            print(
                f"[{phase}] requests {recorder.requests() or recorder.warmup_requests}, "
                f"errors {sum(recorder.errors.values())}; RSS MiB: {rss}",
                flush=True,
            )
