"""The Batch API against the same requests sent directly: a batch of embedding lines run by
``ragway worker`` finishes at what fraction of the throughput of 16 concurrent connections
sending those requests to the gateway?

Run: ``python -m tests.benchmarks.batches`` (``--lines``, ``--connections``, ``--rounds``,
``--seconds``). One stack for both: embedded Postgres and Redis, a fake OpenAI upstream on
loopback in a process of its own (the same for both paths), ``ragway gateway --workers 1``
and one ``ragway worker`` (default settings: 4 threads, 100 lines per job, 16 lines per
model in flight). Each round measures the direct path (``POST /v1/embeddings`` with ``wrk``
over ``--connections`` keep-alive connections for ``--seconds``; without ``wrk``,
``--lines`` requests from an asyncio client, slower than the gateway, which flatters the
batch) and the batch (upload, create, poll every 50 ms until ``completed``: wall time from
create to completed), in alternating order, after a warm-up and once the stack is idle (the
worker starts its parsing processes and loads the policy on its first batch). Reported per
round: requests/s of each and their ratio (the acceptance line: a batch at >= 80% of the
direct throughput), the batch's phases as polled, and each process's CPU time per request or
line (gateway, worker, upstream, Postgres with its backends, Redis; ``wrk`` and this process
aside), which shows where the time goes on a machine that other work shares; the load
average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.benchmarks.gateway import bench_stack, cpu_s, running_gateway, wrk
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port

_KEY_ENV = "BENCH_UPSTREAM_KEY"
# Every request the same, both ways: wrk sends one body, so the batch's lines are that body
# too (distinct texts would cost the batch the PII step's analysis that wrk's repeated text
# gets from its cache).
_BODY: dict[str, object] = {"model": "embed", "input": "passage number 1"}


def aliases(upstream: str) -> dict[str, object]:
    deployment = {
        "name": "embed-a",
        "provider": "openai",
        "model": "emb-bench",
        "base_url": upstream,
        "api_key_env": _KEY_ENV,
        "timeout_s": 30,
    }
    return {"embed": {"type": "embedding", "deployments": [deployment]}}


async def direct(base: str, key: str, lines: int, connections: int) -> float:
    """Seconds to send ``lines`` embedding requests over ``connections`` connections."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"authorization": f"Bearer {key}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(lines):
        queue.put_nowait(n)
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:

        async def sender() -> None:
            while not queue.empty():
                queue.get_nowait()
                response = await client.post("/v1/embeddings", json=_BODY, timeout=30)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(connections)))
        return time.perf_counter() - started


def batch(base: str, key: str, lines: int) -> float:
    """Seconds from creating a batch of ``lines`` embedding lines to its completion."""
    data = b"".join(
        json.dumps(
            {
                "custom_id": f"l{n}",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": _BODY,
            }
        ).encode()
        + b"\n"
        for n in range(lines)
    )
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {key}"}) as client:
        uploaded = client.post(
            "/v1/files", files={"file": ("in.jsonl", data)}, data={"purpose": "batch"}
        )
        uploaded.raise_for_status()
        body = {
            "input_file_id": uploaded.json()["id"],
            "endpoint": "/v1/embeddings",
            "completion_window": "24h",
        }
        started = time.perf_counter()
        created = client.post("/v1/batches", json=body)
        created.raise_for_status()
        batch_id = created.json()["id"]
        seen = {"validating": started}  # when each status was first seen (to 50 ms)
        while True:
            state = client.get(f"/v1/batches/{batch_id}").json()
            seen.setdefault(state["status"], time.perf_counter())
            if state["status"] not in ("validating", "in_progress", "finalizing"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    counts = state["request_counts"]
    if state["status"] != "completed" or counts["completed"] != lines:
        raise SystemExit(f"the batch ended {state['status']} with {counts}")
    ends = [seen.get(name) for name in ("validating", "in_progress", "finalizing", "completed")]
    phases = [
        f"{name} {end - start:.2f} s" if start is not None and end is not None else f"{name} -"
        for name, start, end in zip(
            ("validating", "running", "finalizing"), ends, ends[1:], strict=False
        )
    ]
    print(f"  batch phases (as polled): {', '.join(phases)}")
    return elapsed


class CpuMeter:
    """CPU seconds of each process of the stack, by role (the benchmark's own process and
    ``wrk`` aside): where a request's or a line's time goes, whatever else the machine runs."""

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self._roles = roles

    def snapshot(self) -> dict[str, float]:
        parents = _parents()
        totals = {}
        for role, pids in self._roles.items():
            family, seen = list(pids), 0.0
            while family:
                pid = family.pop()
                family.extend(child for child, parent in parents.items() if parent == pid)
                try:
                    seen += cpu_s(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue  # ended meanwhile
            totals[role] = seen
        return totals

    def settle(self, *, quiet: float = 0.05, timeout_s: float = 60.0) -> None:
        """Wait until the stack is idle (under ``quiet`` of a core for half a second): the
        worker starts its parsing processes and loads the policy after the warm-up, which
        would otherwise run during the first round's direct measurement."""
        deadline = time.monotonic() + timeout_s
        before = self.snapshot()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            after = self.snapshot()
            if sum(after.values()) - sum(before.values()) < quiet * 0.5:
                return
            before = after

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], count: float) -> str:
        return ", ".join(
            f"{role} {1e6 * (after[role] - before[role]) / count:.0f}" for role in before
        )


def _parents() -> dict[int, int]:
    """Every process's parent, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def serve_upstream(port: int) -> None:
    """The fake upstream alone in a process (``--upstream PORT``): in the benchmark's own
    process it would share a GIL with the direct path's client and slow that path only."""
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # before the server's thread starts
    with FakeOpenAI(port=port):
        signal.sigwait(stops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk's run (direct)")
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream is not None:
        serve_upstream(args.upstream)
        return
    os.environ.setdefault(_KEY_ENV, "sk-bench-" + "b" * 24)
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.batches", "--upstream", str(upstream_port)]
    )
    try:
        measure(args, f"http://127.0.0.1:{upstream_port}/v1", upstream.pid)
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(10)


def measure(args: argparse.Namespace, upstream_url: str, upstream_pid: int) -> None:
    with tempfile.TemporaryDirectory() as folder, bench_stack(Path(folder)) as stack:
        port = free_port()
        models = aliases(upstream_url)
        with running_gateway(stack, port, aliases=models) as gateway:
            env = {
                **os.environ,
                "DATABASE_URL": stack.database_url,
                "REDIS_URL": stack.redis_url,
                "RAGWAY_CONFIG": "",
                "RAGWAY_DATA_DIR": str(Path(folder) / f"data-{port}"),
                "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
                "RAGWAY_INGESTION__METRICS_PORT": "0",
            }
            log = (Path(folder) / "worker.log").open("wb")
            worker = subprocess.Popen(
                [sys.executable, "-m", "gateway", "worker"], env=env, stdout=log, stderr=log
            )
            postmaster = int((Path(folder) / "pg" / "postmaster.pid").read_text().split()[0])
            redis = [
                pid
                for pid, parent in _parents().items()
                if parent == os.getpid()
                and Path(f"/proc/{pid}/comm").read_text().startswith("redis-server")
            ]
            meter = CpuMeter(
                {
                    "gateway": [gateway.pid],
                    "worker": [worker.pid],
                    "upstream": [upstream_pid],
                    "postgres": [postmaster],
                    "redis": redis,
                }
            )
            try:
                run(f"http://127.0.0.1:{port}", stack.key, args, meter)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
                log.close()


def run(base: str, key: str, args: argparse.Namespace, meter: CpuMeter) -> None:
    client = "wrk" if shutil.which("wrk") else "an asyncio client"
    print(f"{args.lines} embedding lines; direct: {args.connections} connections ({client})")
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    batch(base, key, 200)  # warm up: the worker loads the gateway's policy on its first batch
    asyncio.run(direct(base, key, 500, args.connections))
    meter.settle()
    ratios = []
    for round_ in range(args.rounds):
        order = ("direct", "batch") if round_ % 2 == 0 else ("batch", "direct")
        rates, cpu = {}, {}
        for name in order:
            before = meter.snapshot()
            if name == "batch":
                count = args.lines
                rates[name] = count / batch(base, key, count)
            elif shutil.which("wrk"):
                run = wrk(f"{base}/v1/embeddings", _BODY, key, args.connections, args.seconds)
                if run.errors:
                    raise SystemExit(f"{run.errors} direct requests failed")
                count, rates[name] = run.requests, run.rps
            else:
                count = args.lines
                rates[name] = count / asyncio.run(direct(base, key, count, args.connections))
            cpu[name] = meter.per_request(before, meter.snapshot(), count)
        ratio = rates["batch"] / rates["direct"]
        ratios.append(ratio)
        print(
            f"round {round_ + 1}: direct {rates['direct']:.0f} req/s, "
            f"batch {rates['batch']:.0f} lines/s, ratio {ratio:.0%}"
        )
        for name in ("direct", "batch"):
            print(f"  CPU us per {name} request: {cpu[name]}")
    median = statistics.median(ratios)
    verdict = "met" if median >= 0.8 else "NOT met"
    print(f"batch / direct throughput: median {median:.0%} (line: >= 80%: {verdict})")
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
