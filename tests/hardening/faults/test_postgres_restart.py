"""Postgres stopped and started again under a ``ragway gateway`` and a ``ragway worker``.

The Postgres is the test's own (pgserver in its temp folder), so stopping it touches no
other test. While it is down ``/readyz`` answers 503 naming it, chat requests with a key
the gateway already knows keep being answered and their usage rows wait in the process;
afterwards every row is written exactly once. An ingestion job whose statement Postgres
cut off is retried and completes with one copy of each chunk, and so does a job that was
queued behind it.
"""

from __future__ import annotations

import secrets
import signal
import time
from pathlib import Path

import httpx
import psycopg
from openai import OpenAI

from gateway.entry.runtime import EmbeddedPostgres
from tests.hardening.faults.conftest import process_env
from tests.hardening.faults.stack import chunks_of, write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.servers import start_process
from tests.support.services import RedisForTests


def readyz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=10)


def chat(url: str, key: str, request_id: str) -> int:
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "hello"}]},
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": request_id},
        timeout=30,
    )
    return response.status_code


def worker_blocked(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'ragway-worker' AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def retries(metrics_url: str) -> float:
    text = httpx.get(metrics_url, timeout=5).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("ragway_ingestion_retries_total{")
    )


def test_postgres_restart_readiness_usage_and_ingestion(
    own_postgres: EmbeddedPostgres,
    redis_service: RedisForTests,
    fault_upstream: FakeOpenAI,
    embed_upstream: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = own_postgres.start()
    usage = {"flush_interval_s": 0.2, "retry_max_s": 0.5}
    config = write_config(
        tmp_path / "ragway.json", embedder=embed_upstream, policy={"usage": usage}
    )
    worker_metrics = free_port()
    env = {
        **process_env(
            database_url=database_url,
            redis=redis_service,
            upstream=fault_upstream,
            config=config,
            tmp_path=tmp_path,
            name="pgfault",
        ),
        "RAGWAY_LOGGING__LEVEL": "INFO",
        "RAGWAY_INGESTION__METRICS_PORT": str(worker_metrics),
    }
    tag = secrets.token_hex(4)
    ids = {phase: [f"pg-{tag}-{phase}-{n}" for n in range(5)] for phase in ("before", "during")}

    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        _, key = insert_key(database_url, "pg-member", role="member", readable=())
        _, admin_key = insert_key(database_url, "pg-admin")
        admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
        store = admin.vector_stores.create(name="faults-postgres").id
        first = admin.files.create(
            file=("first.txt", b"The first report tells of granite quarries."),
            purpose="assistants",
        ).id
        second = admin.files.create(
            file=("second.txt", b"The second report tells of limestone caves."),
            purpose="assistants",
        ).id
        admin.vector_stores.files.create(vector_store_id=store, file_id=first)

        # Hold the first file's row: the worker's first statement on it waits for the lock,
        # in Postgres, until Postgres goes away under it.
        holder = psycopg.connect(database_url)
        holder.execute(
            "SELECT 1 FROM vector_store_files WHERE vector_store_id = %s AND file_id = %s "
            "FOR UPDATE",
            (store, first),
        )
        worker = start_process(["worker"], env)
        try:
            wait_until(lambda: worker_blocked(database_url), timeout_s=90, interval_s=0.2)
            admin.vector_stores.files.create(vector_store_id=store, file_id=second)
            assert {chat(gateway.url, key, rid) for rid in ids["before"]} == {200}

            own_postgres.stop()
            holder.close()
            wait_until(lambda: readyz(gateway.url).status_code == 503, timeout_s=10)
            body = readyz(gateway.url).json()
            assert body["checks"]["postgres"]["ok"] is False
            assert "postgres" in body["message"]
            assert body["checks"]["redis"]["ok"] is True
            # The key is cached: requests are answered, their usage waits in the process.
            assert {chat(gateway.url, key, rid) for rid in ids["during"]} == {200}
            time.sleep(1.0)  # a few failed usage writes and ingestion retries

            own_postgres.start()
            wait_until(lambda: readyz(gateway.url).status_code == 200, timeout_s=30)

            def written() -> int:
                with psycopg.connect(database_url) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM usage_events WHERE request_id = ANY(%s)",
                        ([*ids["before"], *ids["during"]],),
                    ).fetchone()
                return row[0] if row else 0

            wait_until(lambda: written() >= 10, timeout_s=30)
            wait_until(
                lambda: (
                    [s for s, _, _ in chunks_of(database_url, store).values()]
                    == ["completed", "completed"]
                ),
                timeout_s=90,
                interval_s=0.2,
            )
            assert worker.poll() is None
            assert retries(f"http://127.0.0.1:{worker_metrics}/metrics") >= 1
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    time.sleep(0.5)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT request_id, count(*) FROM usage_events WHERE request_id = ANY(%s) "
            "GROUP BY request_id",
            ([*ids["before"], *ids["during"]],),
        ).fetchall()
    assert dict(rows) == dict.fromkeys([*ids["before"], *ids["during"]], 1)
    files = chunks_of(database_url, store)
    assert set(files) == {first, second}
    for status, total, indexes in files.values():
        assert status == "completed"
        assert total > 0
        assert indexes == list(range(total))
