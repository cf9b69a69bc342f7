"""KeyService against the session's real Postgres: the secret is shown once, stored as a hash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from gateway.policy.keys import (
    KEY_PREFIX,
    KeyInactiveError,
    KeyNotFoundError,
    KeyService,
    KeyUpdate,
    hash_key,
)
from tests.support.policy import make_key, pool_for


class RecordingEvents:
    def __init__(self) -> None:
        self.changed: list[str] = []

    async def key_changed(self, key_id: str) -> None:
        self.changed.append(key_id)


@pytest.fixture
async def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture
async def service(database_url: str, events: RecordingEvents) -> AsyncIterator[KeyService]:
    async with pool_for(database_url) as pool:
        yield KeyService(pool, events=events)


async def test_create_shows_the_secret_once_and_stores_only_its_hash(
    service: KeyService, database_url: str
) -> None:
    created = await make_key(service, "svc", owner="team-a", rpm=60, allowed_models=["gpt-*"])
    assert created.key.startswith(KEY_PREFIX)
    assert len(created.key) >= len(KEY_PREFIX) + 43  # 32 random bytes, url-safe base64
    assert created.key.startswith(created.display_prefix)
    assert created.role == "member"
    assert created.allowed_models == ("gpt-*",)
    assert created.rpm == 60

    fetched = await service.get(created.id)
    assert "key" not in fetched.model_dump()
    assert fetched.display_prefix == created.display_prefix
    async with pool_for(database_url) as pool, pool.connection() as conn:
        row = await (
            await conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (created.id,))
        ).fetchone()
        assert row is not None
        assert bytes(row[0]) == hash_key(created.key)
        text = await (
            await conn.execute(
                "SELECT row_to_json(k)::text FROM api_keys k WHERE id = %s", (created.id,)
            )
        ).fetchone()
        assert text is not None
        assert created.key not in text[0]


async def test_keys_are_unique(service: KeyService) -> None:
    keys = {(await make_key(service, f"u{i}")).key for i in range(20)}
    assert len(keys) == 20


async def test_update_changes_only_the_fields_sent_and_null_clears(
    service: KeyService, events: RecordingEvents
) -> None:
    created = await make_key(service, "upd", rpm=10, tpm=1000, metadata={"team": "x"})
    updated = await service.update(
        created.id, KeyUpdate.model_validate({"rpm": None, "monthly_budget_usd": 12.5})
    )
    assert updated.rpm is None
    assert updated.tpm == 1000
    assert updated.monthly_budget_usd == 12.5
    assert updated.metadata == {"team": "x"}
    assert updated.updated_at > created.updated_at
    assert events.changed == [created.id]


async def test_update_refuses_null_for_required_fields() -> None:
    with pytest.raises(ValidationError, match="'name' cannot be null"):
        KeyUpdate.model_validate({"name": None})
    with pytest.raises(ValidationError):
        KeyUpdate.model_validate({"rpm": 0})
    with pytest.raises(ValidationError):
        KeyUpdate.model_validate({"unknown": 1})
    with pytest.raises(ValidationError):
        KeyUpdate.model_validate({"expires_at": "2030-01-01T00:00:00"})  # no time zone


async def test_rotate_issues_a_new_secret_for_the_same_key(
    service: KeyService, events: RecordingEvents
) -> None:
    created = await make_key(service, "rot", tpm=5)
    rotated = await service.rotate(created.id)
    assert rotated.id == created.id
    assert rotated.key != created.key
    assert rotated.tpm == 5
    assert events.changed == [created.id]


async def test_list_filters_and_hides_revoked(service: KeyService) -> None:
    owner = f"owner-{datetime.now(UTC).timestamp()}"
    first = await make_key(service, "l1", owner=owner)
    second = await make_key(
        service, "l2", owner=owner, role="admin", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    revoked = await service.revoke(first.id)
    assert revoked.revoked_at is not None
    assert [k.id for k in await service.list(owner=owner)] == [second.id]
    listed = await service.list(owner=owner, include_revoked=True)
    assert [k.id for k in listed] == [first.id, second.id]
    assert [k.id for k in await service.list(owner=owner, role="admin")] == [second.id]


async def test_revoke_twice_keeps_the_first_time(service: KeyService) -> None:
    created = await make_key(service, "rev")
    first = await service.revoke(created.id)
    second = await service.revoke(created.id)
    assert first.revoked_at == second.revoked_at


async def test_delete_and_unknown_ids(service: KeyService, events: RecordingEvents) -> None:
    created = await make_key(service, "del")
    await service.delete(created.id)
    assert events.changed == [created.id]
    for call in (service.get, service.delete, service.revoke, service.rotate):
        with pytest.raises(KeyNotFoundError, match=created.id):
            await call(created.id)
    with pytest.raises(KeyNotFoundError):
        await service.update(created.id, KeyUpdate.model_validate({"rpm": 3}))


@pytest.mark.parametrize("state", ["revoked", "expired"])
async def test_rotating_a_revoked_or_expired_key_is_refused(
    service: KeyService, events: RecordingEvents, database_url: str, state: str
) -> None:
    """A rotated secret of a dead key would never authenticate: 409, and nothing changes."""
    created = await make_key(service, f"dead-{state}")
    if state == "revoked":
        await service.revoke(created.id)
    else:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await service.update(created.id, KeyUpdate(expires_at=past))
    events.changed.clear()
    with pytest.raises(KeyInactiveError, match=f"is {state}; a {state} key cannot be rotated") as e:
        await service.rotate(created.id)
    assert (e.value.status_code, e.value.code) == (409, "api_key_inactive")
    assert events.changed == []
    async with pool_for(database_url) as pool, pool.connection() as conn:
        row = await (
            await conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (created.id,))
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == hash_key(created.key)
