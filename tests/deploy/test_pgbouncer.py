"""ragway behind PgBouncer in transaction mode (``database.pooler: transaction``).

Debian's PgBouncer 1.18 on a free port, two server connections per database, in front of the
session's Postgres: migrations, a gateway (chat with its ledger row, files, vector-store
search) and a worker ingesting a file all run through it, with more clients than the pool
has connections. Nothing may outlive a transaction: a prepared statement or a session
setting left on one server connection would surface on another client's transaction.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from openai import OpenAI
from psycopg.conninfo import conninfo_to_dict

from configs import ProvidersSettings, Settings, load_settings
from gateway.entry.app import create_app
from ingestion.db import known_migrations, migrate, open_pool
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key
from tests.support.ledger import settled_row
from tests.support.net import free_port
from tests.support.pgbouncer import Pgbouncer, pgbouncer
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.servers import ServerThread, start_process
from tests.support.services import PostgresForTests

POOL_SIZE = 2
MARKER = "The lighthouse keeper on Skerryvore logged forty-one storms in one winter."


@pytest.fixture(scope="module")
def bouncer(
    postgres: PostgresForTests, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pgbouncer]:
    with pgbouncer(
        postgres.admin_url, tmp_path_factory.mktemp("pgbouncer"), pool_size=POOL_SIZE
    ) as running:
        yield running


@pytest.fixture(scope="module")
def direct_url(postgres: PostgresForTests) -> str:
    """This module's database, as Postgres serves it (for checks from outside the stack)."""
    return postgres.create_database("ragway_pgb")


@pytest.fixture(scope="module")
def pooled_url(bouncer: Pgbouncer, direct_url: str) -> str:
    return bouncer.url_for(direct_url)


@pytest.fixture(scope="module")
def migrated(pooled_url: str) -> list[list[int]]:
    """Four processes' worth of migrations at once, through the pooler."""

    async def four() -> list[list[int]]:
        done = await asyncio.gather(*(migrate(pooled_url) for _ in range(4)))
        return [[m.version for m in applied] for applied in done]

    return asyncio.run(four())


@pytest.fixture(scope="module")
def pooled_env(
    stack_env: dict[str, str], pooled_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        **stack_env,
        "DATABASE_URL": pooled_url,
        "RAGWAY_DATABASE__POOLER": "transaction",
        # Each process keeps more connections open than the pooler has server connections,
        # so the pooler has more clients than servers however the load spreads the requests
        # (with the default 1 a busy machine served the 8 chats on one connection each).
        "RAGWAY_DATABASE__POOL_MIN_SIZE": str(POOL_SIZE + 1),
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-pgbouncer",
        "RAGWAY_WORKER__THREADS": "2",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("pgbouncer-data")),
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
    }


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def pooled_settings(pooled_env: dict[str, str], upstream: FakeOpenAI) -> Settings:
    settings = load_settings(config_files=[], env=pooled_env)
    providers = ProvidersSettings.model_validate(priced_providers(upstream.base_url))
    return settings.model_copy(update={"providers": providers})


@pytest.fixture(scope="module")
def gateway(pooled_settings: Settings, pooled_url: str, migrated: list[list[int]]) -> Iterator[str]:
    redis_url = pooled_settings.redis.url
    assert redis_url is not None
    app = create_app(
        pooled_settings,
        database_url=pooled_url,
        redis_url=redis_url.get_secret_value(),
        env=UPSTREAM_ENV,
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def worker(pooled_env: dict[str, str], migrated: list[list[int]]) -> Iterator[None]:
    process = start_process(["worker"], pooled_env)
    yield
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_migrations_through_the_pooler_apply_each_once(
    migrated: list[list[int]], direct_url: str
) -> None:
    applied = sorted(version for done in migrated for version in done)
    assert applied == [m.version for m in known_migrations()]
    with psycopg.connect(direct_url) as conn:
        rows = conn.execute("SELECT version FROM ragway_schema_migrations ORDER BY 1").fetchall()
    assert [version for (version,) in rows] == applied


async def test_each_transaction_carries_its_statement_timeout(
    pooled_url: str, migrated: list[list[int]]
) -> None:
    """statement_timeout is SET LOCAL in each transaction (psycopg's BEGIN hook in
    ingestion/db/_pooler.py), never left on a server connection for the next client."""
    settings = load_settings(
        config_files=[],
        env={
            "RAGWAY_DATABASE__POOLER": "transaction",
            "RAGWAY_DATABASE__STATEMENT_TIMEOUT_S": "0.3",
        },
    ).database
    pool = await open_pool(pooled_url, settings, application_name="ragway-test-pooler")
    try:

        async def timeout_seen() -> str:
            async with pool.connection() as conn:
                row = await (await conn.execute("SHOW statement_timeout")).fetchone()
            assert row is not None
            return str(row[0])

        # More transactions than psycopg's prepare threshold, on more connections than
        # the pooler has server connections.
        seen = await asyncio.gather(*(timeout_seen() for _ in range(40)))
        assert set(seen) == {"300ms"}
        async with pool.connection() as conn:
            async with conn.pipeline(), conn.transaction():
                cursor = await conn.execute("SHOW statement_timeout")
            assert await cursor.fetchone() == ("300ms",)
        with pytest.raises(psycopg.errors.QueryCanceled):
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_sleep(2)")
    finally:
        await pool.close()
    # A client without the setting, on the same two server connections: nothing was left.
    for _ in range(2 * POOL_SIZE):
        with psycopg.connect(pooled_url, autocommit=True, prepare_threshold=None) as plain:
            assert plain.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_gateway_and_worker_work_through_the_pooler(
    gateway: str,
    worker: None,
    direct_url: str,
    bouncer: Pgbouncer,
    tmp_path: Path,
) -> None:
    admin = OpenAI(
        base_url=f"{gateway}/v1",
        api_key=insert_key(direct_url, name="pgbouncer-admin", role="admin"),
        max_retries=0,
        timeout=60,
    )

    # Chat, 24 requests 8 at a time: each answered and in the usage ledger.
    def chat(_: int) -> str:
        request_id = f"req_pgb_{secrets.token_hex(6)}"
        answer = admin.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "hello through the pooler"}],
            max_tokens=5,
            extra_headers={"X-Request-ID": request_id},
        )
        assert answer.choices[0].message.content
        return request_id

    with ThreadPoolExecutor(max_workers=8) as threads:
        request_ids = list(threads.map(chat, range(24)))
    for request_id in request_ids:
        row = settled_row(direct_url, request_id)
        assert row["endpoint"] == "chat.completions"
        assert row["status"] == 200

    # Files: upload, read back, list.
    uploaded = admin.files.create(file=("notes.txt", MARKER.encode()), purpose="assistants")
    assert admin.files.content(uploaded.id).read() == MARKER.encode()
    assert uploaded.id in {f.id for f in admin.files.list()}

    # A vector store: the worker ingests the file through the pooler; search finds it.
    store = admin.vector_stores.create(name="pgbouncer-store")
    attached = admin.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=uploaded.id, poll_interval_ms=200
    )
    assert attached.status == "completed", attached.last_error
    results = admin.vector_stores.search(
        vector_store_id=store.id, query="storms logged by the lighthouse keeper"
    )
    assert results.data, "search found nothing"
    assert "Skerryvore" in results.data[0].content[0].text

    # The pooler had more clients than server connections, and never more of those.
    dbname = conninfo_to_dict(direct_url)["dbname"]
    clients = [c for c in bouncer.show("CLIENTS") if c["database"] == dbname]
    servers = [s for s in bouncer.show("SERVERS") if s["database"] == dbname]
    assert len(clients) > POOL_SIZE
    assert 0 < len(servers) <= POOL_SIZE
