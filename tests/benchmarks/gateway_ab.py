"""Gateway A/B: a base revision against the working tree, at the same time, on one stack.

The dev VM's speed drifts by ±20% within minutes, so two runs of the gateway benchmark made
minutes apart cannot tell a 5% change from the drift. This starts both gateways at once --
the base revision (``--base``, default ``HEAD``) from a temporary git worktree, and the
working tree as it is -- against one embedded Postgres and Redis and one fake upstream
(nginx, as in ``gateway``), and alternates ``wrk`` rounds between them: A, B, A, B, ...
Each round reports the p50, the requests/s and the gateway's CPU time per request; the
summary gives each side's medians and the median of the paired differences (B - A).

Run: ``python -m tests.benchmarks.gateway_ab [--base REV] [--rounds 10] [--seconds 3]
[--connections 1] [--stream]``. With a clean working tree and ``--base HEAD`` it is an A/A
run: the noise floor. Needs ``wrk`` (and preferably ``nginx``), like ``gateway``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.gateway import _CHAT, bench_stack, cpu_s, running_gateway, wrk
from tests.support.net import free_port

_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Side:
    name: str
    tree: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per side")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one round")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--stream", action="store_true", help="streaming chat (11 events)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    base = subprocess.run(
        ["git", "-C", str(_ROOT), "rev-parse", "--short", args.base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="ragway-ab-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # the embedded Postgres runs as its own user
        worktree = folder / "base"
        subprocess.run(
            ["git", "-C", str(_ROOT), "worktree", "add", "--detach", str(worktree), base],
            capture_output=True,
            check=True,
        )
        sides = [Side(f"A ({base})", worktree, free_port()), Side("B (tree)", _ROOT, free_port())]
        try:
            run(args, folder, sides)
        finally:
            subprocess.run(
                ["git", "-C", str(_ROOT), "worktree", "remove", "--force", str(worktree)],
                capture_output=True,
                check=False,
            )


def run(args: argparse.Namespace, folder: Path, sides: list[Side]) -> None:
    with bench_stack(folder) as stack, ExitStack() as gateways:
        for side in sides:
            # the stack is migrated by this tree: a base revision from before a migration
            # works on the newer schema but would refuse to start if it checked it
            gateway = running_gateway(stack, side.port, tree=side.tree, migrate=side.tree == _ROOT)
            side.process = gateways.enter_context(gateway)
        compare(args, stack.key, sides, stack.upstream_kind)


def compare(args: argparse.Namespace, key: str, sides: list[Side], kind: str) -> None:
    body = {**_CHAT, "model": "bench-stream" if args.stream else "bench", "stream": args.stream}
    conns, seconds = args.connections, args.seconds
    print(
        f"upstream: {kind}; {'streaming' if args.stream else 'non-streaming'} chat; "
        f"{conns} connection(s); {args.rounds} alternating rounds of {seconds:g} s per side"
    )
    for side in sides:  # warm-up: key cache, pools, code paths
        wrk(side.url, body, key, 8, 2)
    rows: dict[str, list[tuple[float, float, float]]] = {side.name: [] for side in sides}
    for n in range(args.rounds):
        line = []
        for side in sides:
            assert side.process is not None
            before = cpu_s(side.process.pid)
            result = wrk(side.url, body, key, conns, seconds)
            cpu_us = (cpu_s(side.process.pid) - before) / max(result.requests, 1) * 1e6
            rows[side.name].append((result.p50_ms * 1000, result.rps, cpu_us))
            line.append(f"{side.name}: p50 {result.p50_ms * 1000:.0f} us, {cpu_us:.0f} us CPU")
        print(f"round {n + 1}: " + "; ".join(line), flush=True)
    print()
    print("| side | p50 (median of rounds) | req/s | gateway CPU/req |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in rows.items():
        p50, rps, cpu = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"| {name} | {p50:.0f} us | {rps:,.0f} | {cpu:.0f} us |")
    a, b = rows.values()
    p50_diff = statistics.median(y[0] - x[0] for x, y in zip(a, b, strict=True))
    cpu_diff = statistics.median(y[2] - x[2] for x, y in zip(a, b, strict=True))
    print(f"\nB - A, median of paired rounds: p50 {p50_diff:+.0f} us, CPU/req {cpu_diff:+.0f} us")


if __name__ == "__main__":
    main()
