"""A ``ragway worker`` SIGKILLed while it holds prefetched files, and one whose Redis froze.

A killed worker's unacknowledged messages come back within ``heartbeat_timeout_s`` plus
``recovery_interval_s`` (here 3 s + 0.5 s; random maintenance is off, so nothing but the
sweep can return them). A file that finishes while Redis is frozen is acknowledged once
Redis answers again, with one warning and no "found a bug in Dramatiq"; delivered again,
it is skipped before parsing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from openai import OpenAI

from configs import WorkerSettings
from gateway.entry.runtime import EmbeddedRedis
from ingestion.queue import IngestionQueue, build_broker
from tests.hardening.faults.conftest import models_env
from tests.hardening.faults.stack import chunks_of, upload_texts, write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.processes import GatewayProcess, insert_key

NAMESPACE = "faults-workers"
HEARTBEAT_S = 3.0
REDIS_TIMEOUT_S = 5.0  # redis-py's default socket timeout, which the broker uses


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    server.start()
    yield server
    server.stop()


def worker_env(
    tmp_path: Path, database_url: str, own_redis: EmbeddedRedis, embed: FakeOpenAI
) -> dict[str, str]:
    config = write_config(
        tmp_path / "ragway.json",
        embedder=embed,
        worker={"heartbeat_timeout_s": HEARTBEAT_S, "recovery_interval_s": 0.5},
    )
    return {
        **models_env(embed),
        "DATABASE_URL": database_url,
        "REDIS_URL": own_redis.url,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_REDIS__KEY_PREFIX": "faults-workers:",
        "RAGWAY_WORKER__NAMESPACE": NAMESPACE,
        "RAGWAY_WORKER__MAINTENANCE_CHANCE": "0",  # recovery must not depend on luck
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
        "RAGWAY_LOGGING__LEVEL": "INFO",
    }


def start_worker(env: dict[str, str], log: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker"],
            env={**os.environ, **env, "RAGWAY_INGESTION__METRICS_PORT": str(metrics_port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def unacked(own_redis: EmbeddedRedis) -> int:
    """Messages fetched by some worker and not acknowledged, over every worker."""
    client = redis.Redis.from_url(own_redis.url)
    try:
        return sum(
            int(client.scard(key)) for key in client.scan_iter(match=f"{NAMESPACE}:__acks__.*")
        )
    finally:
        client.close()


def all_completed(database_url: str, store_id: str) -> bool:
    files = chunks_of(database_url, store_id)
    assert "failed" not in {status for status, _, _ in files.values()}, files
    return all(status == "completed" for status, _, _ in files.values())


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_a_killed_workers_prefetched_files_are_finished_by_another_within_the_bound(
    faults_database_url: str, embed_upstream: FakeOpenAI, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    env = worker_env(tmp_path, faults_database_url, own_redis, embed_upstream)
    _, admin_key = insert_key(faults_database_url, "dead-worker-admin")
    texts = [f"Entry {n}: the ferry left the harbour at dawn on day {n}." for n in range(6)]

    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
        store = admin.vector_stores.create(name="faults-dead-worker").id
        first = start_worker(env, tmp_path / "first.log", free_port())
        try:
            upload_texts(admin, store, texts)
            # One file in progress, one prefetched (threads=1: prefetch 2), the rest queued.
            wait_until(lambda: unacked(own_redis) >= 2, timeout_s=90, interval_s=0.02)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            killed = time.monotonic()
        finally:
            stop_worker(first)
        held = unacked(own_redis)
        assert held >= 2
        second = start_worker(env, tmp_path / "second.log", free_port())
        try:
            wait_until(lambda: all_completed(faults_database_url, store), timeout_s=60)
            recovered_s = time.monotonic() - killed
            assert second.poll() is None
        finally:
            stop_worker(second)

    # Heartbeat timeout + sweep interval + a worker's start + the files' own work.
    assert recovered_s < 40, f"recovery took {recovered_s:.1f}s"
    assert unacked(own_redis) == 0
    files = chunks_of(faults_database_url, store)
    assert len(files) == len(texts)
    for status, total, indexes in files.values():
        assert total > 0
        assert (status, indexes) == ("completed", list(range(total)))


def test_a_file_finished_while_redis_is_frozen_is_acknowledged_later_and_never_parsed_twice(
    faults_database_url: str, embed_upstream: FakeOpenAI, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    env = worker_env(tmp_path, faults_database_url, own_redis, embed_upstream)
    _, admin_key = insert_key(faults_database_url, "frozen-redis-admin")
    redis_pid = int(redis.Redis.from_url(own_redis.url).info()["process_id"])
    log = tmp_path / "worker.log"
    port = free_port()

    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
        store = admin.vector_stores.create(name="faults-frozen-redis").id
        worker = start_worker(env, log, port)
        frozen = False
        try:
            (file_id,) = upload_texts(admin, store, ["The tide table for the week of the storm."])

            def embedding() -> bool:
                status, total, _ = chunks_of(faults_database_url, store)[file_id]
                assert status == "in_progress", "finished before Redis could be frozen"
                return (total or 0) > 0

            wait_until(embedding, timeout_s=90, interval_s=0.02)
            os.kill(redis_pid, signal.SIGSTOP)
            frozen = True
            wait_until(lambda: all_completed(faults_database_url, store), timeout_s=30)
            time.sleep(REDIS_TIMEOUT_S + 2)  # the acknowledgement times out once
            os.kill(redis_pid, signal.SIGCONT)
            frozen = False
            wait_until(lambda: "acknowledged once Redis answered again" in log.read_text())
            assert metric(port, 'ragway_ingestion_stage_seconds_count{stage="parse"}') == 1

            # Delivered again (as it would be had the acknowledgement been lost for good).
            broker = build_broker(own_redis.url, WorkerSettings(namespace=NAMESPACE))
            try:
                IngestionQueue(broker, queue_name="ingestion").enqueue([(store, file_id)])
            finally:
                broker.close()
            wait_until(
                lambda: (
                    metric(port, 'ragway_ingestion_files_processed_total{outcome="skipped"}') == 1
                )
            )
            assert metric(port, 'ragway_ingestion_stage_seconds_count{stage="parse"}') == 1
            assert worker.poll() is None
        finally:
            if frozen:
                os.kill(redis_pid, signal.SIGCONT)
            stop_worker(worker)

    text = log.read_text()
    assert "found a bug in Dramatiq" not in text
    assert text.count("could not acknowledge a finished message") == 1
    assert "message skipped" in text
    status, total, indexes = chunks_of(faults_database_url, store)[file_id]
    assert (status, indexes) == ("completed", list(range(total)))
