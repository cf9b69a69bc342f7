"""A collections stack of this module's own: gateway, one shared worker, keys and clients.

Its own broker namespace, data directory and limits, so killing its worker or filling its
queue touches no other test. One worker process serves every test here (the embedder load
costs seconds); the SIGKILL test replaces it through ``WorkerHandle.restart``.
"""

from __future__ import annotations

import hashlib
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from openai import OpenAI

from configs import Settings, load_settings
from gateway.entry.app import create_app
from gateway.policy.keys import hash_key
from tests.support.net import free_port
from tests.support.servers import ServerThread, start_process

MAX_FILE_BYTES = 200_000


@dataclass
class WorkerHandle:
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def restart(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.process = start_process(["worker"], self.env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@dataclass(frozen=True)
class Keys:
    admin: str
    reader: str  # member granted the stores named "shared-*"
    outsider: str  # member granted only "other-*"


@pytest.fixture(scope="package")
def collections_env(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        **stack_env,
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-collections",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("collections-data")),
        "RAGWAY_WORKER__THREADS": "2",
        "RAGWAY_WORKER__HEARTBEAT_TIMEOUT_S": "4",
        "RAGWAY_WORKER__MAINTENANCE_CHANCE": "1000000",
        "RAGWAY_INGESTION__MAX_FILE_BYTES": str(MAX_FILE_BYTES),
        "RAGWAY_INGESTION__MIN_BACKOFF_S": "0.2",
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
    }


@pytest.fixture(scope="package")
def collections_settings(collections_env: dict[str, str]) -> Settings:
    return load_settings(config_files=[], env=collections_env)


@pytest.fixture(scope="package")
def collections_url(collections_settings: Settings, database_url: str) -> Iterator[str]:
    redis_url = collections_settings.redis.url
    assert redis_url is not None
    app = create_app(
        collections_settings, database_url=database_url, redis_url=redis_url.get_secret_value()
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="package")
def files_outlive_stores_url(collections_env: dict[str, str], database_url: str) -> Iterator[str]:
    """A second gateway on the same database, storage and worker, configured as OpenAI
    behaves: deleting a vector store leaves its files (and their bytes) alone."""
    settings = load_settings(
        config_files=[],
        env={**collections_env, "RAGWAY_INGESTION__DELETE_ORPHANED_FILES_WITH_STORE": "false"},
    )
    assert settings.redis.url is not None
    app = create_app(
        settings, database_url=database_url, redis_url=settings.redis.url.get_secret_value()
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="package")
def worker(collections_env: dict[str, str]) -> Iterator[WorkerHandle]:
    handle = WorkerHandle(collections_env, start_process(["worker"], collections_env))
    yield handle
    handle.stop()


@pytest.fixture(scope="package")
def keys(database_url: str) -> Keys:
    made = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name, role, readable in (
            ("admin", "admin", ["*"]),
            ("reader", "member", ["shared-*"]),
            ("outsider", "member", ["other-*"]),
        ):
            plaintext = f"rgw-test-{secrets.token_hex(16)}"
            conn.execute(
                "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
                "readable_collections) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    f"key_{secrets.token_hex(6)}",
                    hash_key(plaintext),
                    plaintext[:12],
                    name,
                    role,
                    readable,
                ),
            )
            made[name] = plaintext
    return Keys(**made)


def client(base_url: str, key: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=60)


@pytest.fixture(scope="package")
def admin(collections_url: str, keys: Keys, worker: WorkerHandle) -> OpenAI:
    return client(collections_url, keys.admin)


def chunk_rows(
    database_url: str, store_id: str, file_id: str | None = None
) -> list[tuple[str, int]]:
    """(file_id, chunk_index) of every chunk of a store (optionally of one file)."""
    query = "SELECT file_id, chunk_index FROM chunks WHERE vector_store_id = %s"
    params: list[str] = [store_id]
    if file_id is not None:
        query += " AND file_id = %s"
        params.append(file_id)
    with psycopg.connect(database_url) as conn:
        return [(f, i) for f, i in conn.execute(query, params).fetchall()]


def storage_root(settings: Settings) -> Path:
    return (settings.data_dir / "files").resolve()


def stored_object(settings: Settings, content: bytes) -> Path:
    """Where the local storage keeps ``content`` (keyed by its sha256)."""
    key = hashlib.sha256(content).hexdigest()
    return storage_root(settings) / key[:2] / key[2:4] / key


def worker_counter(settings: Settings, name: str, label: str = "") -> float:
    """A counter of the worker's /metrics, summed over the samples whose labels hold
    ``label`` (0 before its first increment)."""
    port = settings.ingestion.metrics_port
    deadline = time.monotonic() + 60
    while True:  # a worker just (re)started serves its metrics after its start-up
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            break
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        metric, _, labels = sample.partition("{")
        if metric == f"{name}_total" and label in labels:
            total += float(value)
    return total
