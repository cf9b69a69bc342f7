"""ResponseStore on the session's Postgres: visibility, expiry, chains, paging, deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings, ResponsesSettings
from gateway.api.openai.responses._store import PURGE_INTERVAL_S, ResponseStore
from gateway.platform.errors import InvalidRequestError, ServiceUnavailableError
from ingestion.collections import PageRequest
from ingestion.db import open_pool
from tests.gateway.api.responses._stored import input_item, principal, stored_response
from tests.support.net import free_port
from tests.support.policy import pool_for


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with pool_for(database_url) as opened:
        yield opened


@pytest.fixture
def store(pool: AsyncConnectionPool) -> ResponseStore:
    return ResponseStore(pool, ResponsesSettings())


async def save(
    store: ResponseStore,
    key_id: str | None,
    answer: str = "hi",
    *,
    previous: str | None = None,
    inputs: int = 1,
) -> dict[str, Any]:
    response = stored_response(answer, previous=previous)
    items = [input_item(f"{answer} question {n}") for n in range(inputs)]
    await store.save(response, input_items=items, key_id=key_id)
    response["_inputs"] = items  # for the test's own checks; saved before this was added
    return response


async def expire(pool: AsyncConnectionPool, response_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE responses SET expires_at = now() - interval '1 second' WHERE id = %s",
            (response_id,),
        )


async def rows(pool: AsyncConnectionPool, response_id: str) -> tuple[int, int]:
    """(responses, items) stored under the id."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM responses WHERE id = %(id)s), "
            "(SELECT count(*) FROM response_items WHERE response_id = %(id)s)",
            {"id": response_id},
        )
        found = await cursor.fetchone()
    assert found is not None
    return int(found[0]), int(found[1])


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["content"][0]["text"] for item in items]


async def test_round_trip_keeps_the_object_as_sent(store: ResponseStore) -> None:
    owner = principal()
    response = stored_response("hello")
    await store.save(response, input_items=[input_item("q")], key_id=owner.key_id)
    got = await store.get(response["id"], principal=owner)
    assert got == response
    assert got is not None
    assert list(got) == list(response)


@pytest.mark.parametrize("synchronous", [False, True])
async def test_one_statement_saves_the_response_and_its_items_and_leaves_the_connection_as_found(
    pool: AsyncConnectionPool, synchronous: bool
) -> None:
    store = ResponseStore(pool, ResponsesSettings(synchronous_commit=synchronous))
    response = await save(store, "k1", inputs=2)
    assert await rows(pool, response["id"]) == (1, 3)  # 2 inputs + 1 output
    async with pool.connection() as conn:  # the pool's connections stay non-autocommit
        assert conn.autocommit is False
        setting = await (await conn.execute("SHOW synchronous_commit")).fetchone()
    assert setting is not None
    assert setting[0] == "on"  # the relaxed commit was that statement's own


async def test_another_key_sees_nothing_and_an_admin_sees_all(store: ResponseStore) -> None:
    owner, other = principal(), principal()
    response = await save(store, owner.key_id)
    page = PageRequest()
    assert await store.get(response["id"], principal=other) is None
    assert await store.conversation(response["id"], principal=other) is None
    assert await store.input_items(response["id"], principal=other, page=page) is None
    assert await store.delete(response["id"], principal=other) is False
    admin = principal(admin=True)
    assert (await store.get(response["id"], principal=admin)) is not None
    assert await store.get("resp_missing", principal=admin) is None


async def test_expired_responses_are_gone_and_purged(
    store: ResponseStore, pool: AsyncConnectionPool
) -> None:
    owner = principal()
    response = await save(store, owner.key_id, inputs=2)
    await expire(pool, response["id"])
    assert await store.get(response["id"], principal=owner) is None
    assert await store.conversation(response["id"], principal=owner) is None
    assert await store.delete(response["id"], principal=owner) is False
    assert await rows(pool, response["id"]) == (1, 3)
    assert await store.purge_expired() >= 1
    assert await rows(pool, response["id"]) == (0, 0)


async def test_save_purges_expired_rows_at_most_once_per_interval(
    pool: AsyncConnectionPool,
) -> None:
    now = [1000.0]
    store = ResponseStore(pool, ResponsesSettings(), clock=lambda: now[0])
    owner = principal()
    old = await save(store, owner.key_id)  # the first save purges (nothing of ours yet)
    await expire(pool, old["id"])
    await save(store, owner.key_id)
    assert await rows(pool, old["id"]) == (1, 2)  # within the interval: not yet
    now[0] += PURGE_INTERVAL_S
    await save(store, owner.key_id)
    assert await rows(pool, old["id"]) == (0, 0)


async def test_conversation_walks_the_chain_oldest_first(store: ResponseStore) -> None:
    owner = principal()
    first = await save(store, owner.key_id, "one", inputs=2)
    second = await save(store, owner.key_id, "two", previous=first["id"])
    third = await save(store, owner.key_id, "three", previous=second["id"])
    items = await store.conversation(third["id"], principal=owner)
    assert items is not None
    expected = [
        *first["_inputs"],
        *first["output"],
        *second["_inputs"],
        *second["output"],
        *third["_inputs"],
        *third["output"],
    ]
    assert items == expected
    assert texts(items) == [
        "one question 0",
        "one question 1",
        "one",
        "two question 0",
        "two",
        "three question 0",
        "three",
    ]
    # Another key's chain link ends the walk as a missing one does.
    other = principal()
    fourth = await save(store, other.key_id, "four", previous=third["id"])
    mine = await store.conversation(fourth["id"], principal=other)
    assert mine is not None
    assert texts(mine) == ["four question 0", "four"]


async def test_a_deleted_link_ends_the_walk(store: ResponseStore) -> None:
    owner = principal()
    first = await save(store, owner.key_id, "one")
    second = await save(store, owner.key_id, "two", previous=first["id"])
    third = await save(store, owner.key_id, "three", previous=second["id"])
    assert await store.delete(second["id"], principal=owner) is True
    items = await store.conversation(third["id"], principal=owner)
    assert items is not None
    assert texts(items) == ["three question 0", "three"]


async def test_a_chain_over_the_item_limit_is_a_400(pool: AsyncConnectionPool) -> None:
    store = ResponseStore(pool, ResponsesSettings(max_conversation_items=5))
    owner = principal()
    first = await save(store, owner.key_id, "one", inputs=2)  # 3 items
    second = await save(store, owner.key_id, "two", previous=first["id"])  # 5 items
    items = await store.conversation(second["id"], principal=owner)
    assert items is not None
    assert len(items) == 5
    third = await save(store, owner.key_id, "three", previous=second["id"])  # 7 items
    with pytest.raises(InvalidRequestError) as info:
        await store.conversation(third["id"], principal=owner)
    assert info.value.param == "previous_response_id"
    assert info.value.code == "conversation_too_long"


async def test_input_items_page_both_ways(store: ResponseStore) -> None:
    owner = principal()
    response = await save(store, owner.key_id, "a", inputs=5)
    ids = [item["id"] for item in response["_inputs"]]

    async def page(**fields: Any) -> tuple[list[str], bool]:
        found = await store.input_items(response["id"], principal=owner, page=PageRequest(**fields))
        assert found is not None
        return [item["id"] for item in found.items], found.has_more

    assert await page(order="asc", limit=2) == (ids[:2], True)
    assert await page(order="asc", limit=2, after=ids[1]) == (ids[2:4], True)
    assert await page(order="asc", limit=2, after=ids[3]) == (ids[4:], False)
    assert await page(order="asc", limit=2, before=ids[3]) == (ids[1:3], True)
    assert await page(order="asc", limit=5, before=ids[2]) == (ids[:2], False)
    rev = ids[::-1]
    assert await page(limit=2) == (rev[:2], True)  # desc by default
    assert await page(limit=2, after=ids[3]) == (rev[2:4], True)
    assert await page(limit=3, after=ids[1]) == ([ids[0]], False)
    assert await page(limit=2, before=ids[1]) == ([ids[3], ids[2]], True)
    assert await page(limit=9, before=ids[3]) == ([ids[4]], False)
    assert await page(limit=20) == (rev, False)


async def test_a_cursor_outside_the_response_is_a_400(store: ResponseStore) -> None:
    owner = principal()
    response = await save(store, owner.key_id, inputs=2)
    output_id = response["output"][0]["id"]
    for field in ("after", "before"):
        with pytest.raises(InvalidRequestError) as info:
            await store.input_items(
                response["id"], principal=owner, page=PageRequest(**{field: output_id})
            )
        assert info.value.param == field


async def test_delete_removes_the_items(store: ResponseStore, pool: AsyncConnectionPool) -> None:
    owner = principal()
    response = await save(store, owner.key_id, inputs=3)
    assert await rows(pool, response["id"]) == (1, 4)
    assert await store.delete(response["id"], principal=owner) is True
    assert await rows(pool, response["id"]) == (0, 0)
    assert await store.get(response["id"], principal=owner) is None
    assert await store.delete(response["id"], principal=owner) is False


async def test_an_unreachable_database_is_a_503() -> None:
    url = f"postgresql://ragway@127.0.0.1:{free_port()}/none"
    settings = DatabaseSettings(pool_min_size=0, connect_timeout_s=0.5, acquire_timeout_s=0.5)
    pool = await open_pool(url, settings, application_name="ragway-test")
    try:
        store = ResponseStore(pool, ResponsesSettings())
        owner = principal()
        calls = [
            store.save(stored_response("x"), input_items=[], key_id=owner.key_id),
            store.get("resp_x", principal=owner),
            store.conversation("resp_x", principal=owner),
            store.input_items("resp_x", principal=owner, page=PageRequest()),
            store.delete("resp_x", principal=owner),
            store.purge_expired(),
        ]
        for call in calls:
            with pytest.raises(ServiceUnavailableError) as info:
                await call
            assert info.value.code == "database_unavailable"
    finally:
        await pool.close()
