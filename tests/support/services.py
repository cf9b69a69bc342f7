"""Real Postgres (with pgvector) and Redis for tests, each owned by the test session.

``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` point the tests at existing servers instead; the
tests then create their own databases and use their own key prefix, and remove only those.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from gateway.entry.runtime import EmbeddedPostgres, EmbeddedRedis
from tests.support.net import free_port

__all__ = ["PostgresForTests", "RedisForTests", "postgres_for_tests", "redis_for_tests"]


@dataclass
class PostgresForTests:
    """A server the tests may create databases on; drops exactly the databases it created."""

    admin_url: str
    created: list[str] = field(default_factory=list)

    def create_database(self, prefix: str = "ragway_t") -> str:
        name = f"{prefix}_{secrets.token_hex(5)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        self.created.append(name)
        return _with_database(self.admin_url, name)

    def drop_created(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        self.created.clear()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def postgres_for_tests(external_url: str | None, folder: Path) -> Iterator[PostgresForTests]:
    embedded: EmbeddedPostgres | None = None
    if external_url:
        admin_url = external_url
    else:
        embedded = EmbeddedPostgres(folder)
        admin_url = embedded.start(database="postgres")
    server = PostgresForTests(admin_url)
    try:
        yield server
    finally:
        server.drop_created()
        if embedded is not None:
            embedded.stop()


@dataclass(frozen=True)
class RedisForTests:
    """A Redis URL and a key prefix no other test run uses."""

    url: str
    key_prefix: str
    namespace: str

    @contextmanager
    def queue_namespace(self, tag: str, database_url: str | None = None) -> Iterator[str]:
        """A worker namespace of one test's own; afterwards its Redis keys (and, given the
        database, its outbox rows) are removed."""
        name = f"{self.namespace}-{tag}-{secrets.token_hex(4)}"
        try:
            yield name
        finally:
            client = redis.Redis.from_url(self.url)
            try:
                for key in client.scan_iter(match=f"{name}*"):
                    client.delete(key)
            finally:
                client.close()
            if database_url is not None:
                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute("DELETE FROM outbox WHERE namespace = %s", (name,))

    def delete_own_keys(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            for pattern in (f"{self.key_prefix}*", f"{self.namespace}*"):
                for key in client.scan_iter(match=pattern, count=500):
                    client.delete(key)
        finally:
            client.close()


@contextmanager
def redis_for_tests(external_url: str | None, folder: Path) -> Iterator[RedisForTests]:
    token = secrets.token_hex(4)
    embedded: EmbeddedRedis | None = None
    if external_url:
        url = external_url
    else:
        embedded = EmbeddedRedis(folder, port=free_port(), persist=False)
        url = embedded.start()
    own = RedisForTests(url, f"ragway-test-{token}:", f"ragway-test-dramatiq-{token}")
    try:
        yield own
    finally:
        own.delete_own_keys()
        if embedded is not None:
            embedded.stop()
