"""Gateway overhead: the same load sent straight to a near-free upstream and through ONE
gateway worker, in the same run.

Run: ``python -m tests.benchmarks.gateway`` (``--duration``, ``--connections``,
``--soak SECONDS`` for the memory run). Needs ``wrk`` (``apt-get install wrk``; not in CI,
so this is run by hand or by ``make bench``). It starts, in a temporary folder: an embedded
Postgres and Redis (auth, and quotas where wired, run for real), the fake upstream
(nginx with fixed bodies, see ``_upstream``), and ``ragway gateway --workers 1``
(uvicorn + uvloop + httptools) with its access log on, as in production.

Reported per scenario (non-streaming chat, streaming chat):
- 1 connection: p50 direct, p50 through the gateway, and the added latency, in
  ``--latency-rounds`` alternating rounds (3 s each way; the median and the range are
  reported: on the dev VM one round can differ from the next by 0.2 ms, depending on which
  vCPU the scheduler puts each process on), and the gateway's CPU time per request at 1
  connection;
- N connections: requests/s and p99 direct and through the gateway, and the gateway's CPU
  time per request (from /proc; robust against other load on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from gateway.entry.runtime import EmbeddedPostgres, EmbeddedRedis
from gateway.policy.keys import new_key
from ingestion.db import migrate
from tests.benchmarks._upstream import start_upstream
from tests.support.net import free_port, wait_until

_CHAT: dict[str, object] = {
    "model": "bench",
    "messages": [{"role": "user", "content": "Say hello in one line."}],
}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk(
    url: str,
    body: dict[str, object],
    key: str,
    connections: int,
    seconds: float,
    *,
    headers: dict[str, str] | None = None,
) -> Run:
    """``headers``, when given, are sent instead of ``Authorization: Bearer <key>``."""
    sent = headers if headers is not None else {"Authorization": f"Bearer {key}"}
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{json.dumps(body)}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        + "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in sent.items())
    )
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        script.unlink()
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Run(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        errors=errors,
    )


def _ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group(0))  # type: ignore[union-attr]
    unit = value[len(re.match(r"[\d.]+", value).group(0)) :]  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children still running (a traced gateway's span
    export process is one)."""
    total = cpu_s(pid)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            total += tree_cpu_s(int(child))
    return total


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def insert_key(database_url: str) -> str:
    """A member key with every quota set (high enough never to refuse), so that the quota
    step does all its work: rpm, tpm, tokens per day and the monthly budget (with prices)."""
    key = new_key()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
            "rpm, tpm, tokens_per_day, monthly_budget_usd) "
            "VALUES (%s, %s, %s, 'bench', 'member', %s, %s, %s, %s)",
            (
                "key_" + secrets.token_hex(8),
                key.key_hash,
                key.display_prefix,
                2_000_000_000,
                2_000_000_000,
                10**15,
                10**9,
            ),
        )
    return key.plaintext


def models(upstream: str) -> dict[str, object]:
    def alias(path: str) -> dict[str, object]:
        return {
            "deployments": [
                {
                    "name": f"bench-{path}",
                    "provider": "openai",
                    "model": "bench-upstream",
                    "base_url": f"{upstream}/{path}/v1",
                    "timeout_s": 30,
                    "input_price_per_1m": 0.15,
                    "output_price_per_1m": 0.6,
                }
            ]
        }

    return {"bench": alias("json"), "bench-stream": alias("sse")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak", type=float, default=0.0, help="memory run length (s)")
    parser.add_argument(
        "--latency-rounds", type=int, default=5, help="alternating 1-connection rounds"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="ragway-bench-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # the embedded Postgres runs as its own user
        port = free_port()
        with bench_stack(folder) as stack, running_gateway(stack, port) as gateway:
            base = f"http://127.0.0.1:{port}"
            report(args, stack.key, stack.upstream_url, base, gateway.pid, stack.upstream_kind)


@dataclass(frozen=True)
class Stack:
    """What the gateways under test share: embedded Postgres and Redis, the fake upstream and
    an API key with every quota set."""

    folder: Path
    database_url: str
    redis_url: str
    upstream_url: str
    upstream_kind: str
    key: str


@contextmanager
def bench_stack(folder: Path) -> Iterator[Stack]:
    """Starts the shared services in ``folder``; stops them at the end."""
    postgres = EmbeddedPostgres(folder / "pg")
    redis = EmbeddedRedis(folder / "redis", port=free_port(), persist=False)
    upstream_port = free_port()
    (folder / "up").mkdir()
    upstream, kind = start_upstream(folder / "up", upstream_port)
    try:
        database_url = postgres.start(database="ragway")
        asyncio.run(migrate(database_url))
        redis_url = redis.start()
        yield Stack(
            folder,
            database_url,
            redis_url,
            f"http://127.0.0.1:{upstream_port}",
            kind,
            insert_key(database_url),
        )
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(10)
        redis.stop()
        postgres.stop()


@contextmanager
def running_gateway(
    stack: Stack,
    port: int,
    *,
    tree: Path | None = None,
    migrate: bool = True,
    aliases: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``ragway gateway --workers 1`` on ``port``, ready; from ``tree``'s code if given (its
    own working directory and ``PYTHONPATH``); stopped with SIGTERM at the end. ``migrate``
    False: an older revision on the stack's (newer) schema, which it must not refuse.
    ``aliases``: the model aliases to serve instead of ``models``'s; ``env``: more variables."""
    extra = env or {}
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "RAGWAY_CONFIG": "",
        "RAGWAY_DATA_DIR": str(stack.folder / f"data-{port}"),
        "RAGWAY_PROVIDERS__MODELS": json.dumps(aliases or models(stack.upstream_url)),
        "RAGWAY_GATEWAY__WORKERS": "1",
        "RAGWAY_DATABASE__MIGRATE_ON_START": "true" if migrate else "false",
        **extra,
    }
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    log = (stack.folder / f"gateway-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "gateway", "--port", str(port)],
        env=env,
        cwd=tree,
        stdout=log,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _ready(base), timeout_s=60, interval_s=0.2)
        except TimeoutError:
            log.flush()
            tail = (stack.folder / f"gateway-{port}.log").read_text(errors="replace")[-3000:]
            message = f"the gateway on port {port} did not become ready:\n{tail}"
            raise TimeoutError(message) from None
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def report(
    args: argparse.Namespace, key: str, upstream: str, base: str, pid: int, kind: str
) -> None:
    seconds, conns = args.duration, args.connections
    print(f"upstream: {kind}; gateway: 1 worker (pid {pid}); wrk -t1; {seconds:g} s per run")
    wrk(f"{base}/v1/chat/completions", _CHAT, key, conns, 3)  # warm up (key cache, pools)
    rss_start = rss_mib(pid)
    rows = []
    for name, path, alias, stream in (
        ("chat", "json", "bench", False),
        ("chat stream", "sse", "bench-stream", True),
    ):
        body = {**_CHAT, "model": alias, "stream": stream}
        direct_url = f"{upstream}/{path}/v1/chat/completions"
        gateway_url = f"{base}/v1/chat/completions"
        one = [
            _one_connection(direct_url, gateway_url, body, key, pid)
            for _ in range(max(1, args.latency_rounds))
        ]
        dn = wrk(direct_url, body, key, conns, seconds)
        before = cpu_s(pid)
        gn = wrk(gateway_url, body, key, conns, seconds)
        cpu_us = (cpu_s(pid) - before) / max(gn.requests, 1) * 1e6
        rows.append((name, one, dn, gn, cpu_us))
    print()
    print(
        "| scenario | p50 direct (1c) | p50 gateway (1c) | added p50 (1c): median [range] | "
        f"gateway CPU/req (1c) | req/s direct ({conns}c) | req/s gateway ({conns}c) | "
        f"p99 gateway ({conns}c) | gateway CPU/req ({conns}c) | errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, one, dn, gn, cpu_us in rows:
        added = [g.p50_ms - d.p50_ms for d, g, _ in one]
        print(
            f"| {name} | {statistics.median(d.p50_ms for d, _, _ in one):.3f} ms | "
            f"{statistics.median(g.p50_ms for _, g, _ in one):.3f} ms | "
            f"{statistics.median(added):.3f} ms [{min(added):.3f}-{max(added):.3f}] | "
            f"{statistics.median(c for _, _, c in one):.0f} us | {dn.rps:,.0f} | {gn.rps:,.0f} "
            f"({gn.rps / dn.rps:.1%} of direct) | {gn.p99_ms:.2f} ms | {cpu_us:.0f} us | "
            f"{sum(g.errors for _, g, _ in one) + gn.errors} |"
        )
    for name, one, _, _, _ in rows:
        rounds = ", ".join(f"{g.p50_ms - d.p50_ms:.3f}" for d, g, _ in one)
        print(f"{name}: added p50 per 1-connection round (ms): {rounds}")
    metrics = httpx.get(f"{base}/metrics").text
    total = _sample(metrics, "ragway_gateway_overhead_seconds_sum")
    count = _sample(metrics, "ragway_gateway_overhead_seconds_count")
    if count:
        print(
            f"\nmean gateway overhead reported by the gateway itself: {total / count * 1e3:.3f} ms"
        )
    print(f"gateway RSS: {rss_start:.0f} MiB after warm-up, {rss_mib(pid):.0f} MiB after the runs")
    if args.soak > 0:
        soak(base, key, pid, conns, args.soak)


def _one_connection(
    direct_url: str, gateway_url: str, body: dict[str, object], key: str, pid: int
) -> tuple[Run, Run, float]:
    """One round at 1 connection: direct, then through the gateway (with its CPU per request)."""
    direct = wrk(direct_url, body, key, 1, 3)
    before = cpu_s(pid)
    gateway = wrk(gateway_url, body, key, 1, 3)
    return direct, gateway, (cpu_s(pid) - before) / max(gateway.requests, 1) * 1e6


def soak(base: str, key: str, pid: int, conns: int, seconds: float) -> None:
    """Constant load for ``seconds``; RSS sampled between 30-second runs."""
    samples = [rss_mib(pid)]
    deadline = time.monotonic() + seconds
    served = 0
    while time.monotonic() < deadline:
        chunk = min(30.0, deadline - time.monotonic())
        if chunk < 1:
            break
        body = {**_CHAT, "stream": bool(len(samples) % 2)}
        body["model"] = "bench-stream" if body["stream"] else "bench"
        served += wrk(f"{base}/v1/chat/completions", body, key, conns, chunk).requests
        samples.append(rss_mib(pid))
    trace = ", ".join(f"{s:.0f}" for s in samples)
    print(f"soak: {served:,} requests in {seconds:g} s; RSS MiB every 30 s: {trace}")


def _sample(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


if __name__ == "__main__":
    main()
