"""A real ``ragway worker`` process consumes messages from Redis and stops gracefully."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import dramatiq
import redis

from configs import Settings
from ingestion.queue import PING_ACTOR, build_broker
from tests.support.net import wait_until
from tests.support.servers import start_process
from tests.support.services import RedisForTests


def send_ping(settings: Settings, redis_url: str, token: str) -> None:
    broker = build_broker(redis_url, settings.worker)
    try:
        broker.enqueue(
            dramatiq.Message(
                queue_name="default", actor_name=PING_ACTOR, args=(token,), kwargs={}, options={}
            )
        )
    finally:
        broker.close()


def test_worker_processes_a_message(
    worker_process: subprocess.Popen[bytes], settings: Settings, redis_service: RedisForTests
) -> None:
    token = secrets.token_hex(6)
    send_ping(settings, redis_service.url, token)
    client = redis.Redis.from_url(redis_service.url)
    key = f"{redis_service.key_prefix}worker:ping:{token}"
    wait_until(lambda: client.get(key) == b"pong", timeout_s=20)
    assert worker_process.poll() is None


def test_messages_sent_while_no_worker_runs_are_processed_later(
    stack_env: dict[str, str], settings: Settings, redis_service: RedisForTests
) -> None:
    namespace = f"{redis_service.namespace}-late"
    env = {**stack_env, "RAGWAY_WORKER__NAMESPACE": namespace}
    late_settings = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"namespace": namespace})}
    )
    tokens = [secrets.token_hex(6) for _ in range(5)]
    for token in tokens:
        send_ping(late_settings, redis_service.url, token)
    process = start_process(["worker"], env)
    client = redis.Redis.from_url(redis_service.url)
    try:
        keys = [f"{redis_service.key_prefix}worker:ping:{token}" for token in tokens]
        wait_until(lambda: all(client.get(key) == b"pong" for key in keys), timeout_s=30)
    finally:
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 15
        for key in client.scan_iter(match=f"{namespace}*"):
            client.delete(key)


def test_worker_without_urls_says_what_is_missing() -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("RAGWAY_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_URL and REDIS_URL not set" in result.stderr


def test_a_metrics_port_in_use_is_one_clear_line_naming_the_setting(
    stack_env: dict[str, str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "worker"],
            env={**os.environ, **stack_env, "RAGWAY_INGESTION__METRICS_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"metrics port 127.0.0.1:{port} is already in use" in result.stderr
    assert "ingestion.metrics_port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
