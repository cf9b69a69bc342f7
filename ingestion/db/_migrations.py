"""Versioned, forward-only SQL migrations applied under a Postgres advisory lock.

Files live in ``ingestion/db/migrations`` as ``NNNN_name.sql``. Each runs in its own
transaction together with the row that records it, so a failed migration leaves
nothing half-applied. An applied file must never change: its checksum is compared
on every run.

The lock is transaction-level (``pg_advisory_xact_lock``), taken again by each migration's
transaction, which reads the history afresh under it: that works through a pooler in
transaction mode, where a session lock would stay on a server connection other clients get.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import psycopg

from ingestion.errors import DatabaseUnavailableError, MigrationError

__all__ = ["Migration", "MigrationState", "applied_migrations", "known_migrations", "migrate"]

# advisory lock key shared by every ragway process ("ragway" in ASCII, as a bigint).
ADVISORY_LOCK_ID = 0x726167776179
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS ragway_schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file shipped with this release."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationState:
    """A migration as the database and this release see it."""

    version: int
    name: str
    applied_at: datetime | None


def known_migrations() -> list[Migration]:
    """The migrations shipped with this release, in version order."""
    folder = resources.files("ingestion.db") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration files are not numbered 1..N: missing {expected:04d}")
    return found


async def migrate(url: str, *, connect_timeout_s: float = 5.0) -> list[Migration]:
    """Apply every pending migration; returns those applied by this call.

    Concurrent callers serialise on an advisory lock, one migration at a time: each applies
    what is still pending when it holds the lock, and every caller returns once none is.
    """
    migrations = known_migrations()
    try:
        conn = await psycopg.AsyncConnection.connect(
            url,
            autocommit=True,
            connect_timeout=max(1, int(connect_timeout_s)),
            prepare_threshold=None,  # the same INSERT per migration: never a prepared statement
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot connect to Postgres: {exc}") from exc
    done: list[Migration] = []
    async with conn:
        while (applied := await _apply_next(conn, migrations)) is not None:
            done.append(applied)
    return done


async def _apply_next(
    conn: psycopg.AsyncConnection, migrations: list[Migration]
) -> Migration | None:
    """In one transaction under the lock: the first pending migration, applied and recorded
    (None when none is pending)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_ID,))
        await conn.execute(_CREATE_TABLE)
        applied = await _applied_checksums(conn)
        _check_history(migrations, applied)
        pending = next((m for m in migrations if m.version not in applied), None)
        if pending is not None:
            await _apply(conn, pending)
        return pending


async def applied_migrations(url: str) -> list[MigrationState]:
    """Every known or recorded migration, with when it was applied (None when pending)."""
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, prepare_threshold=None
    ) as conn:
        exists = await (
            await conn.execute("SELECT to_regclass('ragway_schema_migrations') IS NOT NULL")
        ).fetchone()
        rows: list[tuple[int, str, datetime]] = []
        if exists and exists[0]:
            cursor = await conn.execute(
                "SELECT version, name, applied_at FROM ragway_schema_migrations ORDER BY version"
            )
            rows = await cursor.fetchall()
    recorded = {version: (name, at) for version, name, at in rows}
    states = [
        MigrationState(m.version, m.name, recorded.pop(m.version, (m.name, None))[1])
        for m in known_migrations()
    ]
    states += [MigrationState(v, name, at) for v, (name, at) in sorted(recorded.items())]
    return states


async def _applied_checksums(conn: psycopg.AsyncConnection) -> dict[int, str]:
    cursor = await conn.execute("SELECT version, checksum FROM ragway_schema_migrations")
    return {version: checksum for version, checksum in await cursor.fetchall()}


def _check_history(migrations: list[Migration], applied: dict[int, str]) -> None:
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise MigrationError(
            f"the database has migration {newer[-1]:04d}, newer than this release "
            f"(latest {len(migrations):04d}); upgrade ragway instead of downgrading"
        )
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{known[version].name} was changed after it was applied; "
                "migrations are forward-only: add a new one instead"
            )


async def _apply(conn: psycopg.AsyncConnection, migration: Migration) -> None:
    try:
        await conn.execute(migration.sql.encode())
        await conn.execute(
            "INSERT INTO ragway_schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed: {exc}"
        ) from exc
