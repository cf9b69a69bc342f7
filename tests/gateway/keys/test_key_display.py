"""What is shown of a key, and which supplied keys are accepted (security review, finding 7).

A generated key is shown as ``sk-rgw-`` and 4 of its random characters; nothing is shown of
a key an operator supplies (``RAGWAY_ADMIN_KEY``), and one with under 128 bits is refused.
"""

from __future__ import annotations

import math
import secrets
import string

import psycopg
import pytest

from gateway.policy.keys import (
    KEY_PREFIX,
    KeyService,
    WeakKeyError,
    display_prefix,
    ensure_admin_key,
    estimated_bits,
    hash_key,
    new_key,
)
from ingestion.db import known_migrations, migrate
from tests.support.policy import NoEvents, make_key, pool_for
from tests.support.services import PostgresForTests

WEAK = [
    pytest.param("x" * 64, id="one-character"),
    pytest.param("a1" * 40, id="two-characters-repeated"),
    pytest.param("Admin-Key-2024-prod!", id="twenty-characters"),  # met the old 20-char rule
    pytest.param(KEY_PREFIX + secrets.token_urlsafe(12), id="generated-look-16-chars"),
    pytest.param(secrets.token_hex(12), id="hex-96-bits"),
]
STRONG = [
    pytest.param(secrets.token_urlsafe(32), id="token_urlsafe-32"),
    pytest.param("sk-soak-" + secrets.token_hex(20), id="hex-160-bits"),
    pytest.param(KEY_PREFIX + secrets.token_urlsafe(32), id="generated-look"),
    pytest.param(
        "".join(secrets.choice(string.printable[:94]) for _ in range(40)), id="printable-40"
    ),
]


def unguessed_bits(key: str, shown: str) -> float:
    """Bits left of a generated key when ``shown`` is known: 6 per hidden random character."""
    assert key.startswith(shown)
    return (len(key) - len(shown)) * math.log2(64)


async def row_text(database_url: str, key_id: str) -> str:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "SELECT row_to_json(k)::text FROM api_keys k WHERE id = %s", (key_id,)
            )
        ).fetchone()
    assert row is not None
    return str(row[0])


async def test_generated_keys_show_the_marker_and_four_characters(database_url: str) -> None:
    key = new_key()
    assert key.display_prefix == key.plaintext[: len(KEY_PREFIX) + 4]
    assert unguessed_bits(key.plaintext, key.display_prefix) >= 128
    async with pool_for(database_url) as pool:
        created = await make_key(KeyService(pool, events=NoEvents()), "shown")
        rotated = await KeyService(pool, events=NoEvents()).rotate(created.id)
    for record in (created, rotated):
        assert record.display_prefix == record.key[:11]
        assert record.key[:12] not in await row_text(database_url, record.id)


async def test_a_supplied_admin_key_is_stored_and_shown_without_any_of_it(
    database_url: str,
) -> None:
    supplied = secrets.token_urlsafe(32)
    first = await ensure_admin_key(database_url, supplied)
    again = await ensure_admin_key(database_url, supplied)
    assert (first.created, again.created) == (True, False)
    assert first.key_id == again.key_id
    for result in (first, again):
        assert result.display_prefix == "supplied"
        assert supplied[:4] not in result.label
    text = await row_text(database_url, first.key_id)
    assert '"display_prefix":"supplied"' in text
    assert not any(supplied[i : i + 4] in text for i in range(len(supplied) - 3))


@pytest.mark.parametrize("key", WEAK)
async def test_a_weak_supplied_admin_key_is_refused_naming_the_rule(
    database_url: str, key: str
) -> None:
    assert estimated_bits(key) < 128
    with pytest.raises(WeakKeyError, match=r"RAGWAY_ADMIN_KEY .* at least 128 bits of entropy"):
        await ensure_admin_key(database_url, key)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        found = await (
            await conn.execute("SELECT 1 FROM api_keys WHERE key_hash = %s", (hash_key(key),))
        ).fetchone()
    assert found is None


@pytest.mark.parametrize("key", STRONG)
def test_strong_supplied_keys_pass(key: str) -> None:
    assert estimated_bits(key) >= 128


async def test_migration_shortens_stored_prefixes_and_hides_supplied_ones(
    postgres: PostgresForTests,
) -> None:
    """Keys stored by older releases (13 characters shown) keep working, shown by less."""
    url = postgres.create_database()
    await migrate(url)
    generated, env_key = new_key(), "sk-rgw-" + secrets.token_urlsafe(32)
    old = [  # (id, key, display_prefix as releases before 0008 stored it, name)
        ("key_gen", generated.plaintext, generated.plaintext[:13], "svc"),
        ("key_env", "Op-" + secrets.token_urlsafe(32), "Op-chosen-key", "admin (env)"),
        ("key_env_rgw", env_key, env_key[:13], "admin (env)"),
    ]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for key_id, key, prefix, name in old:
            await conn.execute(
                "INSERT INTO api_keys (id, key_hash, display_prefix, name, role) "
                "VALUES (%s, %s, %s, %s, 'admin')",
                (key_id, hash_key(key), prefix, name),
            )
        (migration,) = [m for m in known_migrations() if m.name == "short_key_prefixes"]
        await conn.execute(migration.sql.encode())
        cursor = await conn.execute("SELECT id, display_prefix FROM api_keys")
        rows: dict[str, str] = dict(await cursor.fetchall())
    assert rows == {
        "key_gen": generated.plaintext[:11],
        "key_env": "supplied",
        "key_env_rgw": "supplied",
    }
    assert display_prefix(generated.plaintext) == rows["key_gen"]
