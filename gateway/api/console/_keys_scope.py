"""Which keys a console user may see: every key for an admin, "their own" for a member.

A member's own keys are the key they signed in with plus every key with the same non-null
``owner``. Pages and reports ask here, and pass the answer down into their queries, so a
member's view is narrowed where the data is read, not where it is drawn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.api.console._user import ConsoleUser
from gateway.policy.keys import KeyNotFoundError, KeyRecord, KeyService

__all__ = ["Scope", "key_status", "own_keys", "readable_key", "scope_of"]

Scope = tuple[str, ...] | None  # the key ids a user may see; None: every key (admins)
_MAX_KEYS = 1000


async def own_keys(keys: KeyService, user: ConsoleUser) -> list[KeyRecord]:
    """The signed-in key and the keys that share its owner (revoked ones too: history)."""
    if user.key.owner is None:
        return [user.key]
    records = await keys.list(owner=user.key.owner, include_revoked=True, limit=_MAX_KEYS)
    if all(record.id != user.key.id for record in records):
        records.insert(0, user.key)
    return records


async def scope_of(keys: KeyService, user: ConsoleUser) -> Scope:
    """``None`` for an admin (everything), else the ids of the member's own keys."""
    if user.is_admin:
        return None
    return tuple(record.id for record in await own_keys(keys, user))


async def readable_key(keys: KeyService, user: ConsoleUser, key_id: str) -> KeyRecord:
    """The key, if ``user`` may read it; another member's key is "not found" (404)."""
    if user.is_admin:
        return await keys.get(key_id)
    for record in await own_keys(keys, user):
        if record.id == key_id:
            return record
    raise KeyNotFoundError(f"no API key with id '{key_id}'", param="id")


def key_status(record: KeyRecord, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return "active"
