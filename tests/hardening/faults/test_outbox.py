"""The outbox under faults, with real processes: a ``ragway gateway``, ``ragway worker``s, a
Redis of the test's own.

- Redis stopped while files are added to a store: every request is accepted (the jobs wait
  in Postgres), and every file is ingested once Redis is back, with no duplicate chunk.
- A worker SIGKILLed while its relay is publishing (its Redis behind a slow link, so the
  kill lands between the first publish and the commit): another worker publishes the rest
  again, and every file ends completed with each chunk stored once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from openai import OpenAI

from gateway.entry.runtime import EmbeddedRedis
from tests.hardening.faults.conftest import models_env
from tests.hardening.faults.stack import chunks_of, write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.servers import start_process
from tests.support.slow_proxy import SlowProxy

NAMESPACE = "outbox-faults"


@pytest.fixture
def quick_embedder() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def stack_env(
    tmp_path: Path, database_url: str, redis_url: str, upstream: FakeOpenAI, embedder: FakeOpenAI
) -> dict[str, str]:
    config = write_config(
        tmp_path / "ragway.json",
        embedder=embedder,
        worker={"threads": 4, "heartbeat_timeout_s": 4, "recovery_interval_s": 1},
    )
    return {
        **models_env(upstream),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_REDIS__KEY_PREFIX": "outbox-faults:",
        "RAGWAY_WORKER__NAMESPACE": NAMESPACE,
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
        "RAGWAY_INGESTION__METRICS_PORT": "0",
    }


def outbox_depth(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE namespace = %s", (NAMESPACE,))
        found = row.fetchone()
    return int(found[0]) if found else 0


def add_files(admin: OpenAI, store_id: str, first: int, count: int) -> list[str]:
    """Upload ``count`` notes and add each to the store; every answer is ``in_progress``."""
    ids = []
    for n in range(first, first + count):
        text = f"Ledger {n}: the harbour master counted {n * 7} crates on pier {n % 5}.\n"
        uploaded = admin.files.create(file=(f"ledger-{n}.txt", text.encode()), purpose="assistants")
        added = admin.vector_stores.files.create(vector_store_id=store_id, file_id=uploaded.id)
        assert added.status == "in_progress"
        ids.append(uploaded.id)
    return ids


def assert_each_ingested_once(database_url: str, store_id: str, file_ids: list[str]) -> None:
    files = chunks_of(database_url, store_id)
    assert sorted(files) == sorted(file_ids)
    for status, total, indexes in files.values():
        assert status == "completed"
        assert total > 0
        assert indexes == list(range(total))  # each chunk once


def all_completed(database_url: str, store_id: str) -> bool:
    return all(s == "completed" for s, _, _ in chunks_of(database_url, store_id).values())


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


def test_files_added_while_redis_is_down_are_accepted_and_ingested_when_it_is_back(
    faults_database_url: str,
    fault_upstream: FakeOpenAI,
    quick_embedder: FakeOpenAI,
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    env = stack_env(tmp_path, faults_database_url, own_redis.url, fault_upstream, quick_embedder)
    _, admin_key = insert_key(faults_database_url, "outbox-redis-admin")
    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        worker = start_process(["worker"], env)
        try:
            admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
            store = admin.vector_stores.create(name="outbox-redis-down").id
            file_ids = add_files(admin, store, 0, 5)
            own_redis.stop()
            file_ids += add_files(admin, store, 5, 15)  # 15 accepted with Redis down
            assert outbox_depth(faults_database_url) >= 1
            time.sleep(1.0)
            waiting = chunks_of(faults_database_url, store)
            assert sum(s == "in_progress" for s, _, _ in waiting.values()) >= 15
            own_redis.start()
            wait_until(lambda: all_completed(faults_database_url, store), timeout_s=90)
            assert worker.poll() is None, "the worker died while Redis was away"
        finally:
            stop(worker)
    assert_each_ingested_once(faults_database_url, store, file_ids)
    assert outbox_depth(faults_database_url) == 0


def published_count(redis_url: str) -> int:
    """Ingestion messages in Redis now: waiting, or fetched and not yet acknowledged."""
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.hlen(f"{NAMESPACE}:ingestion.msgs"))
    finally:
        client.close()


def test_a_worker_killed_while_its_relay_publishes_loses_and_doubles_nothing(
    faults_database_url: str,
    fault_upstream: FakeOpenAI,
    quick_embedder: FakeOpenAI,
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    env = stack_env(tmp_path, faults_database_url, own_redis.url, fault_upstream, quick_embedder)
    _, admin_key = insert_key(faults_database_url, "outbox-kill-admin")
    files = 30
    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
        store = admin.vector_stores.create(name="outbox-relay-kill").id
        file_ids = add_files(admin, store, 0, files)  # no worker yet: all wait in the outbox
        assert outbox_depth(faults_database_url) == files

        port = int(own_redis.url.rsplit(":", 1)[1].split("/")[0])
        with SlowProxy(port, delay_s=0.1) as slow:
            slow_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{slow.port}/0"}
            doomed = start_process(["worker"], slow_env)
            try:
                # One relay pass claims all 30 rows; publishing takes ~3 s on this link.
                wait_until(lambda: published_count(own_redis.url) >= 3, timeout_s=60)
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
            finally:
                stop(doomed)
        published = published_count(own_redis.url)
        assert 0 < published < files, "the kill did not land mid-publish"
        assert outbox_depth(faults_database_url) == files  # its transaction never committed

        worker = start_process(["worker"], env)
        try:
            wait_until(lambda: all_completed(faults_database_url, store), timeout_s=120)
            wait_until(lambda: outbox_depth(faults_database_url) == 0, timeout_s=30)
        finally:
            stop(worker)
    assert_each_ingested_once(faults_database_url, store, file_ids)
