"""A ``ragway gateway`` and ``ragway worker`` processes with the queue on RabbitMQ
(``RABBITMQ_URL`` set): an upload is ingested, a file that fails for good leaves its message
in the dead-letter queue (and in the worker's metrics), and a worker SIGKILLed in the middle
of a file leaves its message to RabbitMQ, which delivers it to the next worker: the file
completes once."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.rabbitmq import RabbitVhost
from tests.support.services import RedisForTests

UPSTREAM_KEY_ENV = "RABBIT_STACK_UPSTREAM_KEY"


@pytest.fixture(scope="module")
def embed_upstream() -> Iterator[FakeOpenAI]:
    """Embeddings that take ``slow_s`` (model ``fault-slow``): a file is in work a while."""
    with FakeOpenAI(slow_s=1.0) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack_env(
    vhost: RabbitVhost,
    database_url: str,
    redis_service: RedisForTests,
    embed_upstream: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """Gateway and workers on the session's Postgres and Redis (under names of their own),
    with every job on RabbitMQ."""
    folder = tmp_path_factory.mktemp("rabbit-stack")
    token = secrets.token_hex(4)
    config = folder / "ragway.json"
    config.write_text(
        json.dumps(
            {
                "inference": {
                    "embedder": {
                        "kind": "remote",
                        "base_url": embed_upstream.base_url,
                        "model": "fault-slow",
                        "api_key_env": UPSTREAM_KEY_ENV,
                        "dimension": 8,
                        "max_retries": 0,
                    }
                },
                "worker": {"threads": 1, "shutdown_timeout_s": 5},
                "ingestion": {"min_backoff_s": 0.1, "max_backoff_s": 0.5},
            }
        )
    )
    return {
        UPSTREAM_KEY_ENV: "sk-upstream-rabbit-" + "r" * 20,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_service.url,
        "RABBITMQ_URL": vhost.url,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_REDIS__KEY_PREFIX": f"{redis_service.key_prefix}rabbit-{token}:",
        "RAGWAY_WORKER__NAMESPACE": f"{redis_service.namespace}-rabbit-{token}",
        "RAGWAY_DATA_DIR": str(folder / "data"),
        "RAGWAY_LOGGING__LEVEL": "INFO",
    }


@pytest.fixture(scope="module")
def admin(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAI]:
    _, key = insert_key(database_url, "rabbit-stack-admin")
    log = tmp_path_factory.mktemp("rabbit-gateway") / "gateway.log"
    with GatewayProcess(stack_env, log) as gateway:
        yield OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


class Worker:
    """A ``ragway worker`` process with its log and metrics port."""

    def __init__(self, env: dict[str, str], log: Path, **overrides: str) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "worker"],
                env={
                    **os.environ,
                    **env,
                    **overrides,
                    "RAGWAY_INGESTION__METRICS_PORT": str(self.port),
                },
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._serving, timeout_s=60, interval_s=0.1)

    def _serving(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def metric(self, name: str) -> float | None:
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def file_status(admin: OpenAI, store: str, file_id: str) -> str:
    return admin.vector_stores.files.retrieve(file_id, vector_store_id=store).status


def chunks_of(database_url: str, store: str, file_id: str) -> list[int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return [
            int(row[0])
            for row in conn.execute(
                "SELECT chunk_index FROM chunks WHERE vector_store_id = %s AND file_id = %s "
                "ORDER BY chunk_index",
                (store, file_id),
            )
        ]


def add_file(admin: OpenAI, store: str, text: str) -> str:
    file_id = admin.files.create(file=("rabbit.txt", text.encode()), purpose="assistants").id
    admin.vector_stores.files.create(vector_store_id=store, file_id=file_id)
    return file_id


def test_an_upload_is_ingested_through_rabbitmq(
    admin: OpenAI, stack_env: dict[str, str], vhost: RabbitVhost, tmp_path: Path
) -> None:
    worker = Worker(stack_env, tmp_path / "worker.log")
    try:
        store = admin.vector_stores.create(name="rabbit-ingested").id
        file_id = add_file(admin, store, "The lighthouse keeper logged every ship at dusk.")
        wait_until(lambda: file_status(admin, store, file_id) == "completed", timeout_s=120)
        assert worker.metric("ragway_rabbitmq_up") == 1
        assert worker.metric("ragway_redis_up") is None  # the queue is not on Redis
        assert worker.metric('ragway_ingestion_queue_depth{queue="ingestion"}') == 0
        assert worker.metric('ragway_ingestion_queue_dead_letters{queue="ingestion"}') == 0
        assert vhost.queue_counts("ingestion") == (0, 1)  # this worker consumes it
        assert '"broker":"rabbitmq"' in worker.log.read_text()
    finally:
        worker.stop()
    assert worker.process.returncode == 0


def test_a_file_that_fails_for_good_is_dead_lettered_and_counted(
    admin: OpenAI,
    stack_env: dict[str, str],
    embed_upstream: FakeOpenAI,
    vhost: RabbitVhost,
    tmp_path: Path,
) -> None:
    # The file's embedding call fails (HTTP 500) on its try and its one retry: given up.
    worker = Worker(stack_env, tmp_path / "worker.log", RAGWAY_INGESTION__MAX_RETRIES="1")
    try:
        store = admin.vector_stores.create(name="rabbit-dead-letter").id
        embed_upstream.script("500", "500")
        file_id = add_file(admin, store, "A page the embedder will never accept.")
        wait_until(lambda: file_status(admin, store, file_id) == "failed", timeout_s=120)
        dead = 'ragway_ingestion_queue_dead_letters{queue="ingestion"}'
        wait_until(lambda: worker.metric(dead) == 1, timeout_s=20)
        assert vhost.queue_counts("ingestion.XQ") == (1, 0)
        assert worker.metric('ragway_ingestion_queue_depth{queue="ingestion"}') == 0
    finally:
        worker.stop()
    (body,) = vhost.get_all("ingestion.XQ")
    assert json.loads(body)["args"] == [store, file_id]  # the ingest_file message itself


def test_a_worker_killed_mid_file_leaves_it_to_rabbitmq_and_the_next_worker_completes_it_once(
    admin: OpenAI,
    stack_env: dict[str, str],
    embed_upstream: FakeOpenAI,
    vhost: RabbitVhost,
    database_url: str,
    tmp_path: Path,
) -> None:
    first = Worker(stack_env, tmp_path / "first.log")
    try:
        store = admin.vector_stores.create(name="rabbit-killed-worker").id
        calls = embed_upstream.count("/embeddings")
        text = " ".join(f"Sentence {n} of the harbour master's long report." for n in range(120))
        file_id = add_file(admin, store, text)
        # In the middle of the file: its first embedding call is on its way (1 s long).
        wait_until(lambda: embed_upstream.count("/embeddings") > calls, timeout_s=120)
        assert file_status(admin, store, file_id) == "in_progress"
        first.stop(signal.SIGKILL)
    finally:
        first.stop()
    # RabbitMQ took the message back when the connection died: ready again, no consumer.
    wait_until(lambda: vhost.queue_counts("ingestion") == (1, 0), timeout_s=10)
    second = Worker(stack_env, tmp_path / "second.log")
    try:
        wait_until(lambda: file_status(admin, store, file_id) == "completed", timeout_s=90)
        completed = 'ragway_ingestion_files_processed_total{outcome="completed"}'
        assert second.metric(completed) == 1
    finally:
        second.stop()
    indexes = chunks_of(database_url, store, file_id)
    assert len(indexes) > 1
    assert indexes == list(range(len(indexes)))  # every chunk once: nothing written twice
    assert vhost.queue_counts("ingestion.XQ") == (0, 0)
