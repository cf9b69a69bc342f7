"""``/admin/keys``: create, list, get, update, rotate, revoke and delete API keys (admins only)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel

from gateway.api.admin._guard import admin_dependency
from gateway.api.http.idempotency import refuses_idempotency
from gateway.policy.auth import Principal
from gateway.policy.keys import CreatedKey, KeyCreate, KeyRecord, KeyService, KeyUpdate

__all__ = ["AdminKeysController", "KeyList"]


class KeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[KeyRecord]


class DeletedKey(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    deleted: bool = True


def _key_service(state: State) -> KeyService:
    service: KeyService = state.gateway.keys
    return service


class AdminKeysController(Controller):
    path = "/admin/keys"
    tags = ["admin"]
    dependencies = {
        "admin": admin_dependency(),
        "keys": Provide(_key_service, sync_to_thread=False),
    }

    @post(
        "/",
        summary="Create an API key (its secret is in this response only)",
        middleware=[refuses_idempotency],
    )
    async def create(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        data: JSONBody[KeyCreate],
    ) -> CreatedKey:
        return await keys.create(data)

    @get("/", summary="List API keys", cache=False)
    async def list_keys(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        include_revoked: FromQuery[bool] = False,
        owner: FromQuery[str | None] = None,
        role: FromQuery[Literal["admin", "member"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> KeyList:
        records = await keys.list(
            include_revoked=include_revoked, owner=owner, role=role, limit=limit, offset=offset
        )
        return KeyList(data=records)

    @get("/{key_id:str}", summary="One API key", cache=False)
    async def get_key(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        key_id: FromPath[str],
    ) -> KeyRecord:
        return await keys.get(key_id)

    @patch("/{key_id:str}", summary="Change a key; only the fields sent change")
    async def update(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        key_id: FromPath[str],
        data: JSONBody[KeyUpdate],
    ) -> KeyRecord:
        return await keys.update(key_id, data)

    @post(
        "/{key_id:str}/rotate",
        summary="New secret for the key; the old one stops working (409 if revoked or expired)",
        middleware=[refuses_idempotency],
    )
    async def rotate(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        key_id: FromPath[str],
    ) -> CreatedKey:
        return await keys.rotate(key_id)

    @post("/{key_id:str}/revoke", summary="Revoke the key (kept for its usage history)")
    async def revoke(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        key_id: FromPath[str],
    ) -> KeyRecord:
        return await keys.revoke(key_id)

    @delete("/{key_id:str}", summary="Delete the key", status_code=200)
    async def delete_key(
        self,
        admin: NamedDependency[Principal],
        keys: NamedDependency[KeyService],
        key_id: FromPath[str],
    ) -> DeletedKey:
        await keys.delete(key_id)
        return DeletedKey(id=key_id)
