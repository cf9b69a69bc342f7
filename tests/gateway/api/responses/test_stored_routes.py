"""GET / DELETE /v1/responses/{id} and its input_items through the app, with the openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response
from psycopg_pool import AsyncConnectionPool

from configs import ResponsesSettings
from gateway.api.openai.responses._store import ResponseStore
from gateway.policy.keys import CreatedKey, KeyService
from tests.gateway.api.responses._stored import input_item, stored_response
from tests.support.policy import NoEvents, make_key, pool_for


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with pool_for(database_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def store(pool: AsyncConnectionPool) -> ResponseStore:
    return ResponseStore(pool, ResponsesSettings())


@pytest.fixture(scope="module")
async def keys(pool: AsyncConnectionPool) -> dict[str, CreatedKey]:
    service = KeyService(pool, events=NoEvents())
    return {
        "owner": await make_key(service, "owner"),
        "other": await make_key(service, "other"),
        "admin": await make_key(service, "admin", role="admin"),
    }


@pytest.fixture
async def clients(
    api_url: str, keys: dict[str, CreatedKey]
) -> AsyncIterator[dict[str, openai.AsyncOpenAI]]:
    made = {
        name: openai.AsyncOpenAI(
            base_url=f"{api_url}/v1", api_key=key.key, max_retries=0, timeout=20
        )
        for name, key in keys.items()
    }
    yield made
    for client in made.values():
        await client.close()


async def saved(store: ResponseStore, key: CreatedKey, inputs: int = 3) -> dict[str, Any]:
    response = stored_response("stored answer")
    items = [input_item(f"question {n}") for n in range(inputs)]
    await store.save(response, input_items=items, key_id=key.id)
    return {**response, "_input_ids": [item["id"] for item in items]}


async def test_retrieve_returns_the_stored_response(
    store: ResponseStore, keys: dict[str, CreatedKey], clients: dict[str, openai.AsyncOpenAI]
) -> None:
    response = await saved(store, keys["owner"])
    got = await clients["owner"].responses.retrieve(response["id"])
    assert isinstance(got, Response)
    assert got.id == response["id"]
    assert got.output_text == "stored answer"
    assert got.usage is not None
    assert got.usage.total_tokens == 5
    admin = await clients["admin"].responses.retrieve(response["id"])
    assert admin.id == response["id"]


async def test_another_keys_response_is_not_found(
    store: ResponseStore, keys: dict[str, CreatedKey], clients: dict[str, openai.AsyncOpenAI]
) -> None:
    response = await saved(store, keys["owner"])
    other = clients["other"]
    calls: list[Awaitable[object]] = [
        other.responses.retrieve(response["id"]),
        other.responses.delete(response["id"]),
        other.responses.input_items.list(response["id"]),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            await call
        assert info.value.body == {
            "message": f"Response with id '{response['id']}' not found.",
            "type": "invalid_request_error",
            "param": "response_id",
            "code": "not_found",
        }
    assert (await clients["owner"].responses.retrieve(response["id"])).id == response["id"]


async def test_delete_answers_deleted_and_the_response_is_gone(
    store: ResponseStore, keys: dict[str, CreatedKey], clients: dict[str, openai.AsyncOpenAI]
) -> None:
    response = await saved(store, keys["owner"])
    owner = clients["owner"]
    raw = await owner.responses.with_raw_response.delete(response["id"])
    assert raw.status_code == 200
    assert raw.http_response.json() == {"id": response["id"], "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        await owner.responses.retrieve(response["id"])
    with pytest.raises(openai.NotFoundError):
        await owner.responses.delete(response["id"])


async def test_input_items_page_with_cursors(
    store: ResponseStore, keys: dict[str, CreatedKey], clients: dict[str, openai.AsyncOpenAI]
) -> None:
    response = await saved(store, keys["owner"], inputs=5)
    ids = response["_input_ids"]
    items = clients["owner"].responses.input_items
    first = await items.list(response["id"], limit=2)  # newest first, as OpenAI
    assert [item.id for item in first.data] == [ids[4], ids[3]]
    assert first.has_more
    assert first.data[0].type == "message"
    raw = await items.with_raw_response.list(response["id"], limit=2)
    envelope = raw.http_response.json()
    assert (envelope["object"], envelope["first_id"], envelope["last_id"]) == (
        "list",
        ids[4],
        ids[3],
    )
    walked = [item.id async for item in items.list(response["id"], limit=2, order="asc")]
    assert walked == ids
    # The SDK has no ``before`` argument; the API takes it as OpenAI's does.
    before = await items.list(response["id"], order="asc", extra_query={"before": ids[3]})
    assert [item.id for item in before.data] == ids[:3]
    assert not before.has_more


@pytest.mark.parametrize(
    "query",
    [
        {"after": "msg_nope"},
        {"extra_query": {"before": "msg_nope"}},
        {"limit": 0},
        {"limit": 101},
        {"order": "sideways"},
    ],
)
async def test_bad_paging_is_a_400(
    query: dict[str, Any],
    store: ResponseStore,
    keys: dict[str, CreatedKey],
    clients: dict[str, openai.AsyncOpenAI],
) -> None:
    response = await saved(store, keys["owner"])
    with pytest.raises(openai.BadRequestError) as info:
        await clients["owner"].responses.input_items.list(response["id"], **query)
    assert isinstance(info.value.body, dict)
    assert info.value.body["type"] == "invalid_request_error"


async def test_routes_need_a_key_and_odd_ids_are_not_found(
    api_url: str, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{api_url}/v1", api_key="sk-wrong", max_retries=0, timeout=20
    ) as anonymous:
        with pytest.raises(openai.AuthenticationError):
            await anonymous.responses.retrieve("resp_x")
    for odd in ("resp_%00", "x" * 5000, "é ü"):
        with pytest.raises(openai.NotFoundError):
            await clients["owner"].responses.retrieve(odd)


async def test_a_nul_in_the_id_is_a_4xx(api_url: str, keys: dict[str, CreatedKey]) -> None:
    headers = {"authorization": f"Bearer {keys['owner'].key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=20) as http:
        for path in ("/v1/responses/resp_%00", "/v1/responses/resp_%00/input_items"):
            answer = await http.get(path)
            assert 400 <= answer.status_code < 500, answer.text
            assert answer.json()["error"]["type"] == "invalid_request_error"
        answer = await http.delete("/v1/responses/resp_%00")
        assert 400 <= answer.status_code < 500, answer.text
