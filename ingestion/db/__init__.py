"""Postgres access: the pool (behind a pooler or not), the schema migrations and the server's
capabilities."""

from __future__ import annotations

from ingestion.db._capabilities import DatabaseCapabilities, detect_capabilities
from ingestion.db._migrations import (
    ADVISORY_LOCK_ID,
    Migration,
    MigrationState,
    applied_migrations,
    known_migrations,
    migrate,
)
from ingestion.db._pool import open_pool
from ingestion.db._pooler import connect_kwargs
from ingestion.db._wait import migrate_when_ready

__all__ = [
    "ADVISORY_LOCK_ID",
    "DatabaseCapabilities",
    "Migration",
    "MigrationState",
    "applied_migrations",
    "connect_kwargs",
    "detect_capabilities",
    "known_migrations",
    "migrate",
    "migrate_when_ready",
    "open_pool",
]
