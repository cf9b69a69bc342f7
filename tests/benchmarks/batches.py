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
create to completed), in alternating order. Reported: requests/s of each and their ratio
per round; the acceptance line is a batch at >= 80% of the direct throughput.
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

from tests.benchmarks.gateway import bench_stack, running_gateway, wrk
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
        while True:
            state = client.get(f"/v1/batches/{batch_id}").json()
            if state["status"] not in ("validating", "in_progress", "finalizing"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    counts = state["request_counts"]
    if state["status"] != "completed" or counts["completed"] != lines:
        raise SystemExit(f"the batch ended {state['status']} with {counts}")
    at = {name: state[f"{name}_at"] for name in ("created", "in_progress", "finalizing")}
    print(
        f"  batch phases (whole seconds): validating {at['in_progress'] - at['created']}, "
        f"running {at['finalizing'] - at['in_progress']}, "
        f"finalizing {state['completed_at'] - at['finalizing']}"
    )
    return elapsed


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
        measure(args, f"http://127.0.0.1:{upstream_port}/v1")
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(10)


def measure(args: argparse.Namespace, upstream_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder, bench_stack(Path(folder)) as stack:
        port = free_port()
        models = aliases(upstream_url)
        with running_gateway(stack, port, aliases=models):
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
            try:
                run(f"http://127.0.0.1:{port}", stack.key, args)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
                log.close()


def run(base: str, key: str, args: argparse.Namespace) -> None:
    client = "wrk" if shutil.which("wrk") else "an asyncio client"
    print(f"{args.lines} embedding lines; direct: {args.connections} connections ({client})")
    batch(base, key, 200)  # warm up: the worker loads the gateway's policy on its first batch
    asyncio.run(direct(base, key, 500, args.connections))
    ratios = []
    for round_ in range(args.rounds):
        order = ("direct", "batch") if round_ % 2 == 0 else ("batch", "direct")
        rates = {}
        for name in order:
            if name == "batch":
                rates[name] = args.lines / batch(base, key, args.lines)
            elif shutil.which("wrk"):
                run = wrk(f"{base}/v1/embeddings", _BODY, key, args.connections, args.seconds)
                if run.errors:
                    raise SystemExit(f"{run.errors} direct requests failed")
                rates[name] = run.rps
            else:
                rates[name] = args.lines / asyncio.run(
                    direct(base, key, args.lines, args.connections)
                )
        ratio = rates["batch"] / rates["direct"]
        ratios.append(ratio)
        print(
            f"round {round_ + 1}: direct {rates['direct']:.0f} req/s, "
            f"batch {rates['batch']:.0f} lines/s, ratio {ratio:.0%}"
        )
    median = statistics.median(ratios)
    verdict = "met" if median >= 0.8 else "NOT met"
    print(f"batch / direct throughput: median {median:.0%} (line: >= 80%: {verdict})")


if __name__ == "__main__":
    main()
