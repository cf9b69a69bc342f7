"""Session fixtures: a real Postgres with pgvector, a real Redis, the gateway and a worker.

Everything here is owned by the test session: its own embedded servers (or, with
TEST_DATABASE_URL / TEST_REDIS_URL, its own databases and key prefix on given servers).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from configs import Settings, load_settings
from gateway.entry.app import create_app
from ingestion.db import migrate
from tests.support.servers import ServerThread, start_process
from tests.support.services import (
    PostgresForTests,
    RedisForTests,
    postgres_for_tests,
    redis_for_tests,
)

# Nothing a test starts may reach out to the network.
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresForTests]:
    folder = tmp_path_factory.mktemp("postgres")
    with postgres_for_tests(os.environ.get("TEST_DATABASE_URL"), folder) as server:
        yield server


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisForTests]:
    folder = tmp_path_factory.mktemp("redis")
    with redis_for_tests(os.environ.get("TEST_REDIS_URL"), folder) as own:
        yield own


@pytest.fixture(scope="session")
def database_url(postgres: PostgresForTests) -> str:
    """One migrated database shared by the session's tests."""
    url = postgres.create_database()
    asyncio.run(migrate(url))
    return url


@pytest.fixture(scope="session")
def stack_env(
    database_url: str, redis_service: RedisForTests, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment that points a ragway process at the session's services."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_service.url,
        "RAGWAY_REDIS__KEY_PREFIX": redis_service.key_prefix,
        "RAGWAY_WORKER__NAMESPACE": redis_service.namespace,
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "RAGWAY_LOGGING__LEVEL": "WARNING",
        "RAGWAY_INGESTION__METRICS_PORT": "0",  # any free port: workers started side by side
        "RAGWAY_CONFIG": "",
    }


@pytest.fixture(scope="session")
def settings(stack_env: dict[str, str]) -> Settings:
    return load_settings(config_files=[], env=stack_env)


@pytest.fixture(scope="session")
def gateway_url(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> Iterator[str]:
    """A running gateway (uvicorn in a thread) on a free loopback port."""
    app = create_app(settings, database_url=database_url, redis_url=redis_service.url)
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="session")
def worker_process(stack_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``ragway worker`` process consuming the session's queues."""
    process = start_process(["worker"], stack_env)
    yield process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


# Test files that take minutes (measured 2026-12-06 with --durations), run first: with
# ``--dist loadfile`` a long file scheduled last kept one worker busy while the other idled.
# (make test passes --no-loadscope-reorder: xdist's default orders files by their number of
# tests, which put the few-but-slow fault tests last.)
SLOW_FIRST = (
    "tests/ingestion/queue_brokers/test_rabbitmq_stack.py",
    "tests/multi_host/test_hosts_that_fail.py",
    "tests/gateway/api/uploads/test_files_on_s3.py",
    "tests/deploy/test_pgbouncer.py",
    "tests/ingestion/queue_brokers/test_rabbitmq_run.py",
    "tests/gateway/redis_sentinel/test_sentinel_gateway.py",
    "tests/hardening/faults/",
)


def _slow_rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(SLOW_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(SLOW_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest files first (``SLOW_FIRST``; a stable sort keeps every file's tests
    together and in order). GPU tests run only where an NVIDIA GPU is visible (never in
    CI)."""
    items.sort(key=_slow_rank)
    if Path("/dev/nvidia0").exists() or os.environ.get("RAGWAY_TEST_GPU") == "1":
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
