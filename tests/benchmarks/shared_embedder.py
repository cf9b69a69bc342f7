"""Query embedding latency: the model in the gateway process vs one shared ``ragway embedder``.

``python -m tests.benchmarks.shared_embedder [--queries 300] [--rounds 2]``

Starts ``ragway embedder`` on a Unix socket (as ``ragway run`` does) and times single-query
embeddings (distinct texts, so no cache helps), each called as the gateway's query embedder
calls it (``asyncio.to_thread`` from an event loop), two ways in the same run:

- **in-process**: ``LocalEmbedder`` loaded in this process (the gateway before the change);
- **shared**: the ``RemoteEmbedder`` a gateway builds from ``inference.embedder.shared_socket``.

First with nothing else running (the two alternate query by query), then while a bulk
process embeds chunk-sized batches of 32 without pause, as an ingesting worker does: for
in-process that process loads its own model (two models on the host, as before); for shared
it sends its batches to the same embedder the queries use. Bulk phases alternate
(A B A B ...) so drift hits both. Reports p50 / p95 / p99 in ms, the shared/in-process
ratio, and the bulk texts/s of each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from configs import LocalEmbedderSettings
from inference.embedders import Embedder, LocalEmbedder, build_embedder
from tests.benchmarks.embedder_devices import texts
from tests.support.net import wait_until

_QUERY = "how do the ingestion workers embed uploaded documents into postgres, question {}"


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return at(0.50), at(0.95), at(0.99)


_LOOP = asyncio.new_event_loop()


def _timed(embedder: Embedder, text: str) -> float:
    """One query as the gateway embeds it: ``asyncio.to_thread`` from its event loop."""
    began = time.perf_counter()
    _LOOP.run_until_complete(asyncio.to_thread(embedder.embed, [text]))
    return time.perf_counter() - began


def _start_embedder(socket: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAGWAY_CONFIG": "", "RAGWAY_LOGGING__LEVEL": "WARNING"}
    env.pop("RAGWAY_INFERENCE__EMBEDDER__SHARED_SOCKET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "embedder", "--socket", str(socket)], env=env
    )
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, timeout=2) as client:

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError("ragway embedder exited at start")
            try:
                return client.get("http://embedder/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout_s=120, interval_s=0.2)
    return process


def _bulk(mode: str, socket: Path) -> subprocess.Popen[bytes]:
    """A process embedding batches of 32 until SIGTERM; prints texts/s when it ends."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.shared_embedder", "--bulk", mode, str(socket)],
        stdout=subprocess.PIPE,
    )


def _bulk_child(mode: str, socket: Path) -> None:
    embedder = _shared(socket) if mode == "shared" else LocalEmbedder()
    corpus = texts(32 * 8)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    embedder.embed(corpus[:32])
    print("ready", flush=True)
    done, began = 0, time.perf_counter()
    while not stopping:
        start = (done // 32) % 8 * 32
        embedder.embed(corpus[start : start + 32])
        done += 32
    print(f"{done / (time.perf_counter() - began):.0f}", flush=True)


def _shared(socket: Path) -> Embedder:
    return build_embedder(LocalEmbedderSettings(shared_socket=socket))


def _under_bulk(
    mode: str, socket: Path, embedder: Embedder, queries: list[str]
) -> tuple[list[float], float]:
    bulk = _bulk(mode, socket)
    assert bulk.stdout is not None
    if bulk.stdout.readline().strip() != b"ready":
        raise RuntimeError("the bulk process did not start")
    time.sleep(1.0)  # its batches are under way
    samples = [_timed(embedder, q) for q in queries]
    bulk.send_signal(signal.SIGTERM)
    rate = float(bulk.stdout.readline() or 0)
    bulk.wait(30)
    return samples, rate


def _row(name: str, samples: list[float], base: list[float], extra: str = "") -> None:
    p50, p95, p99 = _percentiles(samples)
    b50, _, b99 = _percentiles(base)
    print(
        f"{name:28} {p50:7.2f} {p95:7.2f} {p99:7.2f}   x{p50 / b50:5.2f} x{p99 / b99:5.2f} {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="bulk phases of each kind")
    parser.add_argument("--bulk", nargs=2, metavar=("MODE", "SOCKET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bulk:
        _bulk_child(args.bulk[0], Path(args.bulk[1]))
        return
    with tempfile.TemporaryDirectory(prefix="ragway-bench-") as folder:
        socket = Path(folder) / "embedder.sock"
        server = _start_embedder(socket)
        try:
            _compare(socket, args.queries, args.rounds)
        finally:
            server.terminate()
            server.wait(30)


def _compare(socket: Path, count: int, rounds: int) -> None:
    local, shared = LocalEmbedder(), _shared(socket)
    for embedder in (local, shared):  # warm-up
        for i in range(20):
            _timed(embedder, _QUERY.format(-i))
    queries: Callable[[str], list[str]] = lambda tag: [  # noqa: E731
        _QUERY.format(f"{tag}{i}") for i in range(count)
    ]
    idle_local, idle_shared = [], []
    for a, b in zip(queries("a"), queries("b"), strict=True):
        idle_local.append(_timed(local, a))
        idle_shared.append(_timed(shared, b))
    bulk_local: list[float] = []
    bulk_shared: list[float] = []
    rates: dict[str, list[float]] = {"local": [], "shared": []}
    for r in range(rounds):
        samples, rate = _under_bulk("local", socket, local, queries(f"l{r}-"))
        bulk_local += samples
        rates["local"].append(rate)
        samples, rate = _under_bulk("shared", socket, shared, queries(f"s{r}-"))
        bulk_shared += samples
        rates["shared"].append(rate)
    print(f"{count} single-query embeddings per row; {rounds} bulk phase(s) of each kind")
    print(f"{'':28} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}   {'p50':>6} {'p99':>6}")
    _row("idle, in-process", idle_local, idle_local)
    _row("idle, shared (Unix socket)", idle_shared, idle_local)
    local_rate = sum(rates["local"]) / rounds
    shared_rate = sum(rates["shared"]) / rounds
    _row("bulk, in-process", bulk_local, bulk_local, f"bulk {local_rate:.0f} texts/s")
    _row(
        "bulk, shared",
        bulk_shared,
        bulk_local,
        f"bulk {shared_rate:.0f} texts/s (x{shared_rate / local_rate:.2f})",
    )


if __name__ == "__main__":
    main()
