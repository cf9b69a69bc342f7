"""API keys written straight into a test database (the SQL the key service would run)."""

from __future__ import annotations

import secrets

import psycopg

from gateway.policy.keys import new_key

__all__ = ["insert_key"]

# api_keys columns a test may set (fixed names: they are written into the SQL)
_COLUMNS = frozenset(
    {"allowed_models", "allowed_tools", "pii_policy", "readable_collections", "rpm", "tpm"}
)


def insert_key(
    database_url: str, *, name: str = "test", role: str = "member", **columns: object
) -> str:
    """A new key with ``role`` and the given ``api_keys`` columns; returns its secret."""
    unknown = set(columns) - _COLUMNS
    if unknown:
        raise ValueError(f"not an api_keys column a test may set: {sorted(unknown)}")
    key = new_key()
    names = ["id", "key_hash", "display_prefix", "name", "role", *columns]
    values: list[object] = ["key_" + secrets.token_hex(8), key.key_hash, key.display_prefix]
    values += [name, role, *columns.values()]
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO api_keys ({', '.join(names)}) VALUES ({placeholders})"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.encode(), values)
    return key.plaintext
