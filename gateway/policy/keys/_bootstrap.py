"""The first admin key: created on first start, or taken from ``RAGWAY_ADMIN_KEY``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg

from gateway.policy.keys._secrets import SUPPLIED_DISPLAY, hash_key, key_label, new_key
from gateway.policy.keys._strength import check_supplied_key

__all__ = ["ADMIN_KEY_ENV", "BootstrapResult", "ensure_admin_key"]

ADMIN_KEY_ENV = "RAGWAY_ADMIN_KEY"


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """What start-up did about the admin key; ``plaintext`` is set only for a key made just now.

    ``display_prefix`` is what may be shown of the key: a short prefix of a generated key,
    ``supplied`` for one an operator chose (nothing of it is ever shown).
    """

    created: bool
    key_id: str
    display_prefix: str
    plaintext: str | None = None

    @property
    def label(self) -> str:
        """The key as a banner names it, without revealing more than its display prefix."""
        if self.display_prefix == SUPPLIED_DISPLAY:
            return f"supplied key {self.key_id}"
        return f"{key_label(self.display_prefix)} (id {self.key_id})"


async def ensure_admin_key(database_url: str, configured: str | None) -> BootstrapResult:
    """Make sure an admin can reach the admin API.

    With ``configured`` (from ``RAGWAY_ADMIN_KEY``), that key exists as an admin key; it must
    carry at least 128 bits of entropy (``WeakKeyError`` otherwise, before anything is written).
    Without it, a new admin key is made only when no active admin key exists yet.
    """
    if configured is not None:
        check_supplied_key(configured, source=ADMIN_KEY_ENV)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        if configured is not None:
            key_hash = hash_key(configured)
            cursor = await conn.execute("SELECT id FROM api_keys WHERE key_hash = %s", (key_hash,))
            row = await cursor.fetchone()
            if row is None:
                key_id = await _insert(conn, key_hash, SUPPLIED_DISPLAY, "admin (env)")
                return BootstrapResult(True, key_id, SUPPLIED_DISPLAY)
            # Registered by an older release, which stored its first 13 characters.
            await conn.execute(
                "UPDATE api_keys SET display_prefix = %s WHERE id = %s AND display_prefix <> %s",
                (SUPPLIED_DISPLAY, row[0], SUPPLIED_DISPLAY),
            )
            await conn.commit()
            return BootstrapResult(False, row[0], SUPPLIED_DISPLAY)
        cursor = await conn.execute(
            "SELECT id, display_prefix FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at LIMIT 1"
        )
        found = await cursor.fetchone()
        if found is not None:
            return BootstrapResult(False, found[0], found[1])
        key = new_key()
        key_id = await _insert(conn, key.key_hash, key.display_prefix, "admin (bootstrap)")
        return BootstrapResult(True, key_id, key.display_prefix, key.plaintext)


async def _insert(conn: psycopg.AsyncConnection, key_hash: bytes, prefix: str, name: str) -> str:
    key_id = "key_" + secrets.token_hex(12)
    await conn.execute(
        "INSERT INTO api_keys (id, key_hash, display_prefix, name, role) "
        "VALUES (%s, %s, %s, %s, 'admin')",
        (key_id, key_hash, prefix, name),
    )
    await conn.commit()
    return key_id
