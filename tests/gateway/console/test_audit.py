"""The AUDIT page: tool decisions made by real requests, filtered by key, tool, decision,
kind and time, newest first, paged by "Load more"; admin keys only."""

from __future__ import annotations

import asyncio
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import psycopg
import pytest
from playwright.sync_api import Page, expect

from configs import DatabaseSettings
from gateway.api.console._audit import PAGE_SIZE
from gateway.policy.audit import AuditQuery, AuditStore
from ingestion.db import open_pool
from tests.gateway.console.conftest import (
    ConsoleKey,
    ConsoleKeys,
    Shot,
    add_key,
    api_client,
    http_session,
    sign_in,
)

TAG = secrets.token_hex(3)
SECRET_TEXT = f"the launch code is {TAG}"


def _tool(name: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


def _limited_key(database_url: str, name: str) -> ConsoleKey:
    """A member key that may use only tools named ``get_*``."""
    key = add_key(database_url, f"{name}-{TAG}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET allowed_tools = '{get_*}' WHERE id = %s", (key.id,))
    return key


def _events_of(database_url: str, key_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_events WHERE key_id = %s", (key_id,))
        return int(row.fetchone()[0])  # type: ignore[index]


def _written(database_url: str, key_id: str, count: int, timeout_s: float = 15) -> None:
    """Audit events are written in batches, off the request path: wait for them."""
    deadline = time.monotonic() + timeout_s
    while _events_of(database_url, key_id) < count:
        assert time.monotonic() < deadline, "the audit events were never written"
        time.sleep(0.1)


def _ask(client: openai.OpenAI, tool: str) -> None:
    client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": SECRET_TEXT}],
        tools=[_tool(tool)],  # type: ignore[list-item]
    )


@pytest.fixture(scope="module")
def decisions(console_url: str, database_url: str) -> tuple[ConsoleKey, ConsoleKey]:
    """Key A: one allowed tool call and one rejected offer; key B: one allowed call."""
    first, second = _limited_key(database_url, "audit-a"), _limited_key(database_url, "audit-b")
    _ask(api_client(console_url, first.secret), f"get_weather_{TAG}")  # called: allowed
    with pytest.raises(openai.PermissionDeniedError):
        _ask(api_client(console_url, first.secret), f"delete_files_{TAG}")  # rejected
    _ask(api_client(console_url, second.secret), f"get_time_{TAG}")
    _written(database_url, first.id, 2)
    _written(database_url, second.id, 1)
    return first, second


def _rows(page: Page) -> Any:
    return page.locator("#audit-rows tr.audit-event")


def test_the_audit_page_filters_decisions(
    page: Page,
    console_keys: ConsoleKeys,
    decisions: tuple[ConsoleKey, ConsoleKey],
    shot: Shot,
) -> None:
    first, second = decisions
    sign_in(page, console_keys.admin)
    nav = page.get_by_role("navigation", name="Console sections")
    nav.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit")).to_be_visible()

    page.get_by_label("Key").select_option(first.id)
    page.get_by_role("button", name="Filter").click()
    rows = _rows(page)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("rejected")  # newest first
    expect(rows.nth(0)).to_contain_text(f"delete_files_{TAG}")  # the tool, not "*"
    expect(rows.nth(1)).to_contain_text(f"get_weather_{TAG}")
    expect(rows.nth(1)).to_contain_text("allowed")
    expect(rows.nth(1)).to_contain_text(first.name)
    expect(rows.nth(1)).to_contain_text("chat")
    assert TAG not in page.locator("#audit-rows").inner_text().replace(f"_{TAG}", "").replace(
        f"-{TAG}", ""
    )  # the arguments (they carried the user's text) are never shown
    shot(page, "audit")

    page.get_by_label("Decision").select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("may not use")
    expect(page.get_by_label("Key")).to_have_value(first.id)  # the filters stay set

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Tool or PII policy").fill(f"get_time_{TAG}")
    page.get_by_label("Kind").select_option("tool")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(second.name)

    page.get_by_label("Kind").select_option("pii")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No decisions match these filters.")).to_be_visible()


def test_the_time_range_filters(
    page: Page, console_keys: ConsoleKeys, decisions: tuple[ConsoleKey, ConsoleKey]
) -> None:
    first, _ = decisions
    sign_in(page, console_keys.admin)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    page.goto(f"/console/audit?key_id={first.id}&since={hour_ago}&until={later}")
    expect(_rows(page)).to_have_count(2)
    page.goto(f"/console/audit?key_id={first.id}&until={hour_ago}")
    expect(_rows(page)).to_have_count(0)
    page.goto(f"/console/audit?key_id={first.id}&since={later}")
    expect(_rows(page)).to_have_count(0)
    response = page.goto("/console/audit?since=yesterday")
    assert response is not None
    assert response.status == 400


def test_load_more_pages_through_the_trail(
    page: Page, console_url: str, console_keys: ConsoleKeys, database_url: str
) -> None:
    key = _limited_key(database_url, "audit-many")
    client = api_client(console_url, key.secret)
    total = PAGE_SIZE + 5
    for n in range(total):
        with pytest.raises(openai.PermissionDeniedError):
            _ask(client, f"drop_table_{n}")
    _written(database_url, key.id, total)
    sign_in(page, console_keys.admin)
    page.goto(f"/console/audit?key_id={key.id}&decision=rejected")
    expect(_rows(page)).to_have_count(PAGE_SIZE)
    page.get_by_role("button", name="Load more").click()
    expect(_rows(page)).to_have_count(total)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    times = [t for t in _rows(page).locator("td:first-child").all_inner_texts()]
    assert times == sorted(times, reverse=True)


def test_the_store_reads_a_time_range(database_url: str) -> None:
    # Playwright's sync API runs an event loop in this thread: the coroutine gets its own
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _store_reads_a_time_range(database_url)).result()


async def _store_reads_a_time_range(database_url: str) -> None:
    key_id = f"key_range_{TAG}"
    start = datetime(2026, 3, 1, tzinfo=UTC)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for n in range(5):
            await conn.execute(
                "INSERT INTO audit_events (id, created_at, kind, key_id, stage, subject, "
                "decision, reason) VALUES (%s, %s, 'tool', %s, 'request', 't', 'allowed', 'ok')",
                (f"ev_{TAG}_{n}", start + timedelta(minutes=n), key_id),
            )
    pool = await open_pool(database_url, DatabaseSettings(), application_name="audit-range")
    try:
        store = AuditStore(pool)
        query = AuditQuery(
            key_id=key_id, since=start + timedelta(minutes=1), until=start + timedelta(minutes=3)
        )
        found = await store.list(query)
        assert [e["id"] for e in found.events] == [f"ev_{TAG}_2", f"ev_{TAG}_1"]  # until: excl.
        until = start + timedelta(minutes=4)
        paged = await store.list(AuditQuery(key_id=key_id, until=until, limit=2))
        assert [e["id"] for e in paged.events] == [f"ev_{TAG}_3", f"ev_{TAG}_2"]
        rest = await store.list(AuditQuery(key_id=key_id, until=until, before=paged.next_before))
        assert [e["id"] for e in rest.events] == [f"ev_{TAG}_1", f"ev_{TAG}_0"]
    finally:
        await pool.close()


def test_a_member_may_not_read_the_audit_trail(
    page: Page, console_url: str, console_keys: ConsoleKeys
) -> None:
    member = http_session(console_url, console_keys.member.secret)
    try:
        assert member.get("/console/audit").status_code == 403
        more = member.get("/console/audit", params={"before": "x"}, headers={"hx-request": "true"})
        assert more.status_code == 403
        assert "audit-event" not in more.text
    finally:
        member.close()
    sign_in(page, console_keys.member)
    nav = page.get_by_role("navigation", name="Console sections")
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    response = page.goto("/console/audit")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_text("admin keys only")).to_be_visible()
