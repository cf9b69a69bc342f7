"""The authorization matrix, through the official ``openai`` client: every route of the API
by {no key, unknown key, revoked, expired, member, admin, member without the model / the tool /
the collection}. Each cell asserts the exact SDK exception (or success), so a route that
forgot its check, or a check that answers the wrong status, fails here by name."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import psycopg
import pytest
from openai import Omit, OpenAI

from gateway.policy.keys import new_key
from tests.hardening.conftest import Gateway, Keys

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}


@dataclass(frozen=True)
class Fixtures:
    store: str  # readable by the member key ("shared-*")
    file: str  # in that store
    batch: str
    keys: dict[str, str]  # principal name -> plaintext key


@pytest.fixture(scope="module")
def matrix(gateway: Gateway, keys: Keys, hardening_database_url: str) -> Fixtures:
    made = {"admin": keys.admin, "member": keys.member, "other": keys.other}
    now = datetime.now(UTC)
    with psycopg.connect(hardening_database_url, autocommit=True) as conn:
        for name, column, value in (
            ("revoked", "revoked_at", now - timedelta(minutes=1)),
            ("expired", "expires_at", now - timedelta(minutes=1)),
            ("no_model", "allowed_models", ["nothing-*"]),
            ("no_tool", "allowed_tools", ["lookup_*"]),
        ):
            key = new_key()
            conn.execute(
                "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
                f"readable_collections, {column}) VALUES (%s, %s, %s, %s, 'member', %s, %s)",
                (
                    f"key_{secrets.token_hex(8)}",
                    key.key_hash,
                    key.display_prefix,
                    f"matrix-{name}",
                    ["shared-*"],
                    value,
                ),
            )
            made[name] = key.plaintext
    admin = sdk(gateway, keys.admin)
    store = admin.vector_stores.create(name=f"shared-matrix-{secrets.token_hex(4)}")
    uploaded = admin.files.create(file=("m.md", b"# Matrix\n\nA page.\n"), purpose="assistants")
    admin.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    batch = admin.vector_stores.file_batches.create(
        vector_store_id=store.id, file_ids=[uploaded.id]
    )
    return Fixtures(store.id, uploaded.id, batch.id, made)


def sdk(gateway: Gateway, key: str | None) -> OpenAI:
    # No key at all: the SDK insists on one, so the request omits the header (see outcome()).
    return OpenAI(base_url=f"{gateway.url}/v1", api_key=key or "unused", max_retries=0)


Call = Callable[[OpenAI, Fixtures, str, dict[str, Any]], Any]


def raw(method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    """A route called through the SDK's own request machinery (its error mapping included)."""

    def call(client: OpenAI, f: Fixtures, url: str, headers: dict[str, Any]) -> Any:
        ids = {"store": f.store, "file": f.file, "batch": f.batch}
        target = url + path.format(**ids)
        options: Any = {"headers": headers}
        if method == "get":
            return client.get(target, cast_to=httpx.Response, options=options)
        sent = {k: v.format(**ids) if isinstance(v, str) else v for k, v in (body or {}).items()}
        return client.post(target, body=sent, cast_to=httpx.Response, options=options)

    return call


def upload(client: OpenAI, f: Fixtures, url: str, headers: dict[str, Any]) -> Any:
    return client.files.create(file=("x.md", b"# x\n"), purpose="assistants", extra_headers=headers)


# route name -> (call, who may use it: "anyone" authenticated, "admin", "reader" of the store,
# or the "owner" key (files: a member sees only its own, an admin's file is not found)
ROUTES: dict[str, tuple[Call, str]] = {
    "chat": (raw("post", "/v1/chat/completions", CHAT), "anyone"),
    "completions": (raw("post", "/v1/completions", {"model": "chat", "prompt": "hi"}), "anyone"),
    "embeddings": (raw("post", "/v1/embeddings", {"model": "embed", "input": "hi"}), "anyone"),
    "models.list": (raw("get", "/v1/models"), "anyone"),
    "models.get": (raw("get", "/v1/models/chat"), "anyone"),
    "files.create": (upload, "admin"),
    "files.list": (raw("get", "/v1/files"), "anyone"),
    "files.get": (raw("get", "/v1/files/{file}"), "owner"),
    "files.content": (raw("get", "/v1/files/{file}/content"), "owner"),
    "stores.create": (raw("post", "/v1/vector_stores", {"name": "shared-x"}), "admin"),
    "stores.list": (raw("get", "/v1/vector_stores"), "anyone"),
    "stores.get": (raw("get", "/v1/vector_stores/{store}"), "reader"),
    "stores.modify": (
        raw("post", "/v1/vector_stores/{store}", {"metadata": {"k": "v"}}),
        "admin",
    ),
    "stores.files.add": (
        raw("post", "/v1/vector_stores/{store}/files", {"file_id": "{file}"}),
        "admin",
    ),
    "stores.files.list": (raw("get", "/v1/vector_stores/{store}/files"), "reader"),
    "stores.files.get": (raw("get", "/v1/vector_stores/{store}/files/{file}"), "reader"),
    "stores.files.update": (
        raw("post", "/v1/vector_stores/{store}/files/{file}", {"attributes": {"a": "b"}}),
        "admin",
    ),
    "batches.get": (raw("get", "/v1/vector_stores/{store}/file_batches/{batch}"), "reader"),
    "batches.files": (
        raw("get", "/v1/vector_stores/{store}/file_batches/{batch}/files"),
        "reader",
    ),
    "stores.search": (
        raw("post", "/v1/vector_stores/{store}/search", {"query": "page"}),
        "reader",
    ),
    "uploads.create": (
        raw(
            "post",
            "/v1/uploads",
            {
                "bytes": 4,
                "filename": "x.jsonl",
                "mime_type": "application/jsonl",
                "purpose": "batch",
            },
        ),
        "anyone",
    ),
    "batches.list": (raw("get", "/v1/batches"), "anyone"),
    "admin.keys.list": (raw("get", "/admin/keys"), "admin"),
    "admin.usage": (raw("get", "/admin/usage"), "admin"),
    "admin.audit": (raw("get", "/admin/audit"), "admin"),
}


def client_for(gateway: Gateway, principal: str, f: Fixtures) -> OpenAI:
    if principal == "none":
        return sdk(gateway, None)  # the header is omitted per request: see outcome()
    if principal == "unknown":
        return sdk(gateway, "sk-rgw-" + secrets.token_urlsafe(32))
    return sdk(gateway, f.keys[principal])


def outcome(
    call: Call, client: OpenAI, f: Fixtures, url: str, *, principal: str = ""
) -> type[Exception] | None:
    headers: dict[str, Any] = {"Authorization": Omit()} if principal == "none" else {}
    try:
        call(client, f, url, headers)
    except openai.APIStatusError as exc:
        return type(exc)
    return None


@pytest.mark.parametrize("principal", ["none", "unknown", "revoked", "expired"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_refuses_a_missing_or_dead_key_with_401(
    gateway: Gateway, matrix: Fixtures, route: str, principal: str
) -> None:
    call, _ = ROUTES[route]
    client = client_for(gateway, principal, matrix)
    got = outcome(call, client, matrix, gateway.url, principal=principal)
    assert got is openai.AuthenticationError, f"{principal} on {route}: {got}"


@pytest.mark.parametrize("principal", ["admin", "member"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_members_get_403_on_admin_routes_and_everything_else_works(
    gateway: Gateway, matrix: Fixtures, route: str, principal: str
) -> None:
    call, who = ROUTES[route]
    got = outcome(call, client_for(gateway, principal, matrix), matrix, gateway.url)
    if principal == "member" and who == "admin":
        assert got is openai.PermissionDeniedError, f"member on {route}: {got}"
    elif principal == "member" and who == "owner":  # the fixture's file is an admin's
        assert got is openai.NotFoundError, f"member on {route}: {got}"
    else:
        assert got is None, f"{principal} on {route}: {got}"


@pytest.mark.parametrize("route", ["chat", "completions", "embeddings", "models.get"])
def test_a_member_without_the_model_gets_403_and_does_not_see_it(
    gateway: Gateway, matrix: Fixtures, route: str
) -> None:
    call, _ = ROUTES[route]
    got = outcome(call, client_for(gateway, "no_model", matrix), matrix, gateway.url)
    # Listing and reading models show only the key's models: a hidden one is "not found".
    expected = openai.NotFoundError if route == "models.get" else openai.PermissionDeniedError
    assert got is expected, f"no_model on {route}: {got}"


def test_a_member_without_the_tool_gets_403_for_offering_it(
    gateway: Gateway, matrix: Fixtures
) -> None:
    client = client_for(gateway, "no_tool", matrix)

    def offering(name: str) -> dict[str, Any]:
        tool = {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        return {**CHAT, "tools": [tool]}

    with pytest.raises(openai.PermissionDeniedError, match="drop_tables"):
        client.post("/chat/completions", body=offering("drop_tables"), cast_to=httpx.Response)
    allowed = client.post("/chat/completions", body=offering("lookup_user"), cast_to=httpx.Response)
    assert allowed.status_code == 200


@pytest.mark.parametrize("route", [r for r, (_, who) in ROUTES.items() if who == "reader"])
def test_a_member_without_the_collection_gets_404_for_its_routes(
    gateway: Gateway, matrix: Fixtures, route: str
) -> None:
    """Store ids are unguessable: another key's store is "not found", never "forbidden"."""
    call, _ = ROUTES[route]
    got = outcome(call, client_for(gateway, "other", matrix), matrix, gateway.url)
    assert got is openai.NotFoundError, f"other on {route}: {got}"


def test_a_member_without_the_collection_gets_403_for_file_search_in_chat(
    gateway: Gateway, matrix: Fixtures
) -> None:
    body = {**CHAT, "tools": [{"type": "file_search", "vector_store_ids": [matrix.store]}]}
    for principal, expected in (("other", openai.PermissionDeniedError), ("member", None)):
        client = client_for(gateway, principal, matrix)
        got = outcome(raw("post", "/v1/chat/completions", body), client, matrix, gateway.url)
        assert got is expected, f"{principal}: {got}"
