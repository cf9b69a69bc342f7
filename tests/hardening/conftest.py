"""A hardening stack of its own: a ``ragway gateway`` process whose log is captured, a fake
upstream on loopback, keys in a database of its own and ONE shared ``ragway worker``.

The database is this package's own, not the session's: API keys read stores by name
pattern (``shared-*``, ``other-*``), so stores created here would show up in another
package's listings (and theirs in ours) whenever both run in one session.

The gateway runs as the production process (``configure_logging``, uvloop, httptools) with
logging at DEBUG into a file, so the key-leak test reads exactly the lines an operator would.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from openai import OpenAI

from gateway.policy.keys import new_key
from ingestion.db import migrate
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.servers import start_process
from tests.support.services import PostgresForTests

UPSTREAM_KEY = "sk-upstream-hardening-" + "u" * 20
MAX_BODY_BYTES = 256 * 1024
MAX_FILE_BYTES = 8_000_000
MAX_UPLOAD_BYTES = 7_000_000


@dataclass(frozen=True)
class Keys:
    admin: str
    member: str  # may read the stores named "shared-*"
    other: str  # may read only "other-*"
    admin_id: str
    member_id: str


@dataclass(frozen=True)
class Gateway:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="package")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="package")
def hardening_database_url(postgres: PostgresForTests) -> str:
    url = postgres.create_database("ragway_hardening")
    asyncio.run(migrate(url))
    return url


@pytest.fixture(scope="package")
def hardening_env(
    stack_env: dict[str, str],
    hardening_database_url: str,
    upstream: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    deployment = {
        "provider": "openai",
        "base_url": upstream.base_url,
        "api_key_env": "HARDENING_UPSTREAM_KEY",
    }
    models = {
        "chat": {"deployments": [{"name": "chat-a", "model": "gpt-test", **deployment}]},
        "embed": {
            "type": "embedding",
            "deployments": [{"name": "embed-a", "model": "text-embedding-test", **deployment}],
        },
    }
    return {
        **stack_env,
        "DATABASE_URL": hardening_database_url,
        "HARDENING_UPSTREAM_KEY": UPSTREAM_KEY,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-hardening",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("hardening-data")),
        "RAGWAY_GATEWAY__MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "RAGWAY_INGESTION__MAX_FILE_BYTES": str(MAX_FILE_BYTES),
        "RAGWAY_INGESTION__MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "RAGWAY_INGESTION__MIN_BACKOFF_S": "0.2",
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
        "RAGWAY_WORKER__THREADS": "1",
        "RAGWAY_WORKER__MAINTENANCE_CHANCE": "1000000",
        "RAGWAY_LOGGING__LEVEL": "DEBUG",
    }


@pytest.fixture(scope="package")
def gateway(
    hardening_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    port = free_port()
    log = tmp_path_factory.mktemp("hardening-log") / "gateway.log"
    env = {**hardening_env, "RAGWAY_GATEWAY__PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "gateway"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{log.read_text()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, timeout_s=60, interval_s=0.1)
    yield Gateway(url=url, log=log)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture(scope="package")
def worker(hardening_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The one worker every ingestion case here shares (the embedder load costs seconds)."""
    env = {**hardening_env, "RAGWAY_LOGGING__LEVEL": "WARNING"}
    process = start_process(["worker"], env)
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="package")
def keys(hardening_database_url: str) -> Keys:
    made: dict[str, str] = {}
    with psycopg.connect(hardening_database_url, autocommit=True) as conn:
        for name, role, readable in (
            ("admin", "admin", ["*"]),
            ("member", "member", ["shared-*"]),
            ("other", "member", ["other-*"]),
        ):
            key = new_key()
            key_id = f"key_{secrets.token_hex(8)}"
            conn.execute(
                "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
                "readable_collections) VALUES (%s, %s, %s, %s, %s, %s)",
                (key_id, key.key_hash, key.display_prefix, f"hardening-{name}", role, readable),
            )
            made[name] = key.plaintext
            made[f"{name}_id"] = key_id
    return Keys(
        admin=made["admin"],
        member=made["member"],
        other=made["other"],
        admin_id=made["admin_id"],
        member_id=made["member_id"],
    )


def client(gateway: Gateway, key: str) -> OpenAI:
    return OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0, timeout=60)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
