"""Tracing's cost: the gateway with every request traced and exported against the same
gateway with tracing off, at the same time, on one stack.

Two ``ragway gateway --workers 1`` processes of this tree: A without an OTLP endpoint (no
tracing at all), B with ``OTEL_EXPORTER_OTLP_ENDPOINT`` and ``OTEL_TRACES_SAMPLER=always_on``
(every request's spans exported over OTLP/HTTP to nginx, which answers 200). ``wrk`` rounds
alternate between them (as ``gateway_ab``): at 1 connection for the added p50 and CPU per
request, then at ``--connections`` (32) for throughput. Reported: each side's medians, the
paired p50 difference (B - A) and B's throughput as a share of A's. The issue's lines:
p50 grows by <= 0.15 ms at 1 connection; B keeps >= 75% of A's throughput at 32.

Run: ``python -m tests.benchmarks.tracing [--rounds 8] [--seconds 3] [--connections 32]``.
Needs ``wrk`` and ``nginx`` (``apt-get install wrk nginx-light``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from tests.benchmarks.gateway import _CHAT, bench_stack, running_gateway, tree_cpu_s, wrk
from tests.support.net import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds per side and load")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one round")
    parser.add_argument("--connections", type=int, default=32, help="the throughput load")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="ragway-tracing-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # the embedded Postgres runs as its own user
        with bench_stack(folder) as stack, ExitStack() as gateways:
            traced_env = {
                "OTEL_EXPORTER_OTLP_ENDPOINT": stack.upstream_url,  # nginx: 200 to /v1/traces
                "OTEL_TRACES_SAMPLER": "always_on",
            }
            sides = {
                "A (tracing off)": free_port(),
                "B (every request traced)": free_port(),
            }
            pids = {}
            for name, port in sides.items():
                env = traced_env if name.startswith("B") else None
                process = gateways.enter_context(running_gateway(stack, port, env=env))
                pids[name] = process.pid
            print(f"upstream and OTLP receiver: {stack.upstream_kind}; {traced_env}")
            low = rounds(args, stack.key, sides, pids, connections=1)
            high = rounds(args, stack.key, sides, pids, connections=args.connections)
    (a_low, b_low), (a_high, b_high) = low.values(), high.values()
    p50_diff = statistics.median(y[0] - x[0] for x, y in zip(a_low, b_low, strict=True))
    cpu_diff = statistics.median(y[2] - x[2] for x, y in zip(a_low, b_low, strict=True))
    share = statistics.median(y[1] / x[1] for x, y in zip(a_high, b_high, strict=True))
    print(
        f"\n1 connection, B - A (median of paired rounds): p50 {p50_diff:+.0f} us, CPU/req "
        f"{cpu_diff:+.0f} us"
    )
    print(
        f"{args.connections} connections: B's throughput is {share:.0%} of A's (median of "
        "paired rounds)"
    )


def rounds(
    args: argparse.Namespace,
    key: str,
    sides: dict[str, int],
    pids: dict[str, int],
    *,
    connections: int,
) -> dict[str, list[tuple[float, float, float]]]:
    body = {**_CHAT, "model": "bench", "stream": False}
    for port in sides.values():  # warm-up: key cache, pools, code paths
        wrk(_url(port), body, key, 8, 2)
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
    print(f"\n{connections} connection(s), {args.rounds} alternating rounds of {args.seconds:g} s")
    for n in range(args.rounds):
        line = []
        for name, port in sides.items():
            before = tree_cpu_s(pids[name])
            result = wrk(_url(port), body, key, connections, args.seconds)
            cpu_us = (tree_cpu_s(pids[name]) - before) / max(result.requests, 1) * 1e6
            rows[name].append((result.p50_ms * 1000, result.rps, cpu_us))
            line.append(
                f"{name}: p50 {result.p50_ms * 1000:.0f} us, {result.rps:,.0f}/s, "
                f"{cpu_us:.0f} us CPU"
            )
        print(f"round {n + 1}: " + "; ".join(line), flush=True)
    print("\n| side | p50 | req/s | CPU/req (+ children) |\n| --- | ---: | ---: | ---: |")
    for name, values in rows.items():
        p50, rps, cpu = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"| {name} | {p50:.0f} us | {rps:,.0f} | {cpu:.0f} us |")
    return rows


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/chat/completions"


if __name__ == "__main__":
    main()
