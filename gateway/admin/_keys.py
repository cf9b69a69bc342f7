"""``/admin/keys``: create, list, get, update, rotate, revoke and delete API keys (admins only)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel

from gateway.admin._guard import admin_dependency
from gateway.auth import Principal
from gateway.keys import CreatedKey, KeyCreate, KeyRecord, KeyService, KeyUpdate

__all__ = ["AdminKeysController", "KeyList"]


class KeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[KeyRecord]


class DeletedKey(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    deleted: bool = True


def _key_service(state: State) -> KeyService:
    service: KeyService = state.policy.keys
    return service


class AdminKeysController(Controller):
    path = "/admin/keys"
    tags = ["admin"]
    dependencies = {
        "admin": admin_dependency(),
        "keys": Provide(_key_service, sync_to_thread=False),
    }

    @post("/", summary="Create an API key (its secret is in this response only)")
    async def create(self, admin: Principal, keys: KeyService, data: KeyCreate) -> CreatedKey:
        return await keys.create(data)

    @get("/", summary="List API keys", cache=False)
    async def list_keys(
        self,
        admin: Principal,
        keys: KeyService,
        include_revoked: bool = False,
        owner: str | None = None,
        role: Literal["admin", "member"] | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> KeyList:
        records = await keys.list(
            include_revoked=include_revoked, owner=owner, role=role, limit=limit, offset=offset
        )
        return KeyList(data=records)

    @get("/{key_id:str}", summary="One API key", cache=False)
    async def get_key(self, admin: Principal, keys: KeyService, key_id: str) -> KeyRecord:
        return await keys.get(key_id)

    @patch("/{key_id:str}", summary="Change a key; only the fields sent change")
    async def update(
        self, admin: Principal, keys: KeyService, key_id: str, data: KeyUpdate
    ) -> KeyRecord:
        return await keys.update(key_id, data)

    @post("/{key_id:str}/rotate", summary="New secret for the key; the old one stops working")
    async def rotate(self, admin: Principal, keys: KeyService, key_id: str) -> CreatedKey:
        return await keys.rotate(key_id)

    @post("/{key_id:str}/revoke", summary="Revoke the key (kept for its usage history)")
    async def revoke(self, admin: Principal, keys: KeyService, key_id: str) -> KeyRecord:
        return await keys.revoke(key_id)

    @delete("/{key_id:str}", summary="Delete the key", status_code=200)
    async def delete_key(self, admin: Principal, keys: KeyService, key_id: str) -> DeletedKey:
        await keys.delete(key_id)
        return DeletedKey(id=key_id)
