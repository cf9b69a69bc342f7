"""The first admin key: created on first start, or taken from ``RAGWAY_ADMIN_KEY``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg

from gateway.keys._secrets import display_prefix, hash_key, new_key

__all__ = ["BootstrapResult", "ensure_admin_key"]

_MIN_ADMIN_KEY_CHARS = 20


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """What start-up did about the admin key; ``plaintext`` is set only for a key made just now."""

    created: bool
    display_prefix: str
    plaintext: str | None = None


async def ensure_admin_key(database_url: str, configured: str | None) -> BootstrapResult:
    """Make sure an admin can reach the admin API.

    With ``configured`` (from ``RAGWAY_ADMIN_KEY``), that key exists as an admin key.
    Without it, a new admin key is made only when no active admin key exists yet.
    """
    if configured is not None and len(configured) < _MIN_ADMIN_KEY_CHARS:
        raise ValueError(f"RAGWAY_ADMIN_KEY must be at least {_MIN_ADMIN_KEY_CHARS} characters")
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        if configured is not None:
            cursor = await conn.execute(
                "SELECT 1 FROM api_keys WHERE key_hash = %s", (hash_key(configured),)
            )
            if await cursor.fetchone() is None:
                await _insert(conn, hash_key(configured), display_prefix(configured), "admin (env)")
                return BootstrapResult(True, display_prefix(configured))
            return BootstrapResult(False, display_prefix(configured))
        cursor = await conn.execute(
            "SELECT display_prefix FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at LIMIT 1"
        )
        row = await cursor.fetchone()
        if row is not None:
            return BootstrapResult(False, row[0])
        key = new_key()
        await _insert(conn, key.key_hash, key.display_prefix, "admin (bootstrap)")
        return BootstrapResult(True, key.display_prefix, key.plaintext)


async def _insert(conn: psycopg.AsyncConnection, key_hash: bytes, prefix: str, name: str) -> None:
    await conn.execute(
        "INSERT INTO api_keys (id, key_hash, display_prefix, name, role) "
        "VALUES (%s, %s, %s, %s, 'admin')",
        ("key_" + secrets.token_hex(12), key_hash, prefix, name),
    )
    await conn.commit()
