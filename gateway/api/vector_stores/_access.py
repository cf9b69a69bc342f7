"""Who may see and change which store: admins everything; members only granted stores.

A store a key may not read answers 404, exactly like one that does not exist, so store ids
leak nothing. Grants are ``Principal.readable_collections`` globs, matched on id or name.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from gateway.platform.errors import NotFoundError, PermissionDeniedError
from gateway.policy.auth import Principal
from ingestion.collections import VectorStoreRecord, VectorStoreRepository

__all__ = ["StoreAccess", "visible_condition"]


class StoreAccess:
    def __init__(self, stores: VectorStoreRepository) -> None:
        self._stores = stores

    async def readable(self, principal: Principal, store_id: str) -> VectorStoreRecord:
        record = await self._stores.get(store_id)
        if record is None or not may_read(principal, record):
            raise NotFoundError(f"no vector store with id {store_id!r}", param="vector_store_id")
        return record

    async def writable(self, principal: Principal, store_id: str) -> VectorStoreRecord:
        record = await self.readable(principal, store_id)
        if not principal.is_admin:
            raise PermissionDeniedError("only admin keys may change vector stores")
        return record


def may_read(principal: Principal, record: VectorStoreRecord) -> bool:
    return principal.may_read_collection(record.id) or (
        record.name is not None and principal.may_read_collection(record.name)
    )


def visible_condition(principal: Principal) -> tuple[sql.Composable | None, dict[str, Any]]:
    """SQL restricting a store listing to what ``principal`` may read (None: everything)."""
    if principal.is_admin or "*" in principal.readable_collections:
        return None, {}
    likes = [_like(pattern) for pattern in principal.readable_collections]
    condition = sql.SQL(
        "(vector_stores.id LIKE ANY(%(visible)s) OR vector_stores.name LIKE ANY(%(visible)s))"
    )
    return condition, {"visible": likes or ["\x00"]}


def _like(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
