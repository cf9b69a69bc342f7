"""Redis stopped and started again under steady traffic to a ``ragway gateway`` process.

The quota policy comes from a config file: fail-open keeps answering 200 on per-process
fallback limits, fail-closed answers 503 ``quota_unavailable``. Either way a metric and a
log line say so, and quotas count in Redis again by themselves once it is back. A
``ragway worker`` busy with a batch of files reconnects and finishes the jobs queued in
Redis (which keeps them in its append-only file across the restart).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psycopg
import redis
from openai import OpenAI

from gateway.entry.runtime import EmbeddedRedis
from tests.hardening.faults.conftest import models_env
from tests.hardening.faults.stack import ChatLoad, chunks_of, upload_texts, write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.servers import start_process

PREFIX = "faults:"
RPM = 100_000


def fault_env(
    tmp_path: Path, database_url: str, own_redis: EmbeddedRedis, upstream: FakeOpenAI, config: Path
) -> dict[str, str]:
    return {
        **models_env(upstream),
        "DATABASE_URL": database_url,
        "REDIS_URL": own_redis.url,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_REDIS__KEY_PREFIX": PREFIX,
        "RAGWAY_WORKER__NAMESPACE": "faults-dramatiq",
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
        "RAGWAY_LOGGING__LEVEL": "INFO",
        "RAGWAY_INGESTION__METRICS_PORT": "0",
    }


def metric(url: str, name: str) -> float | None:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


def quota_keys(own_redis: EmbeddedRedis, key_id: str) -> list[bytes]:
    client = redis.Redis.from_url(own_redis.url)
    try:
        return list(client.scan_iter(match=f"{PREFIX}quota:{{{key_id}}}*"))
    finally:
        client.close()


def started(database_url: str, store_id: str) -> bool:
    """Whether the worker got to a file of the store (a failure is an error at once)."""
    files = chunks_of(database_url, store_id)
    assert "failed" not in {status for status, _, _ in files.values()}, files
    return any(total or status == "completed" for status, total, _ in files.values())


def test_fail_open_keeps_answering_through_a_redis_restart_and_the_worker_finishes_its_jobs(
    faults_database_url: str,
    fault_upstream: FakeOpenAI,
    embed_upstream: FakeOpenAI,
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    quotas = {"on_redis_error": "open", "fallback_fraction": 0.5, "redis_retry_s": 0.25}
    config = write_config(
        tmp_path / "ragway.json", embedder=embed_upstream, policy={"quotas": quotas}
    )
    env = fault_env(tmp_path, faults_database_url, own_redis, fault_upstream, config)
    key_id, key = insert_key(faults_database_url, "redis-open", role="member", rpm=RPM)
    _, admin_key = insert_key(faults_database_url, "redis-open-admin")
    texts = [f"Report {n}: the lighthouse keeper logged storm number {n}." for n in range(6)]

    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        worker = start_process(["worker"], env)
        try:
            admin = OpenAI(base_url=f"{gateway.url}/v1", api_key=admin_key, max_retries=0)
            store = admin.vector_stores.create(name="faults-redis-open").id
            with ChatLoad(gateway.url, key) as load:
                upload_texts(admin, store, texts)
                # One file is being ingested, the others wait in Redis.
                wait_until(lambda: started(faults_database_url, store), timeout_s=90)
                wait_until(lambda: len(load.replies) >= 10, timeout_s=30)
                own_redis.stop()
                stopped = time.monotonic()
                wait_until(
                    lambda: metric(gateway.url, "ragway_quota_redis_available") == 0, timeout_s=10
                )
                time.sleep(1.5)  # the outage, under load
                own_redis.start()
                restarted = time.monotonic()
                with psycopg.connect(faults_database_url) as conn:
                    restarted_db = conn.execute("SELECT now()").fetchone()
                wait_until(
                    lambda: metric(gateway.url, "ragway_quota_redis_available") == 1, timeout_s=10
                )
                recovered = time.monotonic()
                time.sleep(1.0)
            wait_until(
                lambda: all(
                    status == "completed"
                    for status, _, _ in chunks_of(faults_database_url, store).values()
                ),
                timeout_s=60,
            )
            assert worker.poll() is None, "the worker died while Redis was away"
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        log = gateway.log_text()

    # Every request was answered 200: before, during and after the outage.
    assert [r for r in load.replies if r.status != 200] == []
    during = load.between(stopped, restarted)
    assert len(during) >= 5
    assert any(r.limit == str(RPM // 2) for r in during), "not on the fallback limits"
    after = load.sent_after(recovered)  # the recovery was seen: these reserve in Redis
    assert after
    assert all(r.limit == str(RPM) for r in after), "quotas not back in Redis"
    assert quota_keys(own_redis, key_id), "no counters in the restarted Redis"
    assert "quota store unreachable" in log
    assert "quota store recovered" in log

    files = chunks_of(faults_database_url, store)
    assert len(files) == len(texts)
    for status, total, indexes in files.values():
        assert (status, indexes) == ("completed", list(range(total)))
        assert total > 0
    with psycopg.connect(faults_database_url) as conn:
        late = conn.execute(
            "SELECT count(*) FROM vector_store_files WHERE vector_store_id = %s "
            "AND completed_at > %s",
            (store, restarted_db[0] if restarted_db else None),
        ).fetchone()
    assert late is not None
    assert late[0] >= 1, "no queued job was finished after the restart"


def test_fail_closed_answers_503_through_a_redis_restart_and_recovers_by_itself(
    faults_database_url: str,
    fault_upstream: FakeOpenAI,
    embed_upstream: FakeOpenAI,
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    quotas = {"on_redis_error": "closed", "redis_retry_s": 0.25}
    config = write_config(
        tmp_path / "ragway.json", embedder=embed_upstream, policy={"quotas": quotas}
    )
    env = fault_env(tmp_path, faults_database_url, own_redis, fault_upstream, config)
    _, key = insert_key(faults_database_url, "redis-closed", role="member", rpm=RPM)

    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        with ChatLoad(gateway.url, key) as load:
            wait_until(lambda: len(load.replies) >= 10, timeout_s=30)
            stopping = time.monotonic()  # requests fail while Redis shuts down
            own_redis.stop()
            stopped = time.monotonic()
            wait_until(lambda: any(r.status == 503 for r in load.replies), timeout_s=10)
            assert metric(gateway.url, "ragway_quota_redis_available") == 0
            time.sleep(1.0)
            own_redis.start()
            restarted = time.monotonic()
            wait_until(
                lambda: metric(gateway.url, "ragway_quota_redis_available") == 1, timeout_s=10
            )
            recovered = time.monotonic()
            time.sleep(1.0)
        log = gateway.log_text()

    before = [r for r in load.replies if r.at < stopping]
    assert before
    assert all(r.status == 200 for r in before)
    during = load.between(stopped, restarted)
    refused = [r for r in during if r.status == 503]
    assert len(refused) >= 5
    assert {r.code for r in refused} == {"quota_unavailable"}
    # Requests admitted just before the stop may still end 200; nothing else is allowed.
    assert {r.status for r in during} <= {200, 503}
    after = load.sent_after(recovered)  # the recovery was seen: these reserve in Redis
    assert after
    assert all(r.status == 200 and r.limit == str(RPM) for r in after)
    assert "quota store unreachable" in log
    assert "503 (fail-closed)" in log
    assert "quota store recovered" in log
