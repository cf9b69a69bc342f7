"""The overview: an admin's totals, active keys and top spenders; a member's own keys with
what each has left today and this month."""

from __future__ import annotations

import secrets

import psycopg
from playwright.sync_api import Page, expect

from tests.gateway.console.conftest import ConsoleKeys, Shot, add_key, http_session, sign_in
from tests.gateway.console.test_usage import _chat, _until


def test_an_admin_sees_totals_and_top_spenders(
    page: Page, console_url: str, console_keys: ConsoleKeys, database_url: str, shot: Shot
) -> None:
    spender = add_key(database_url, f"big-spender-{secrets.token_hex(3)}")
    admin = http_session(console_url, console_keys.admin.secret)

    def month_requests() -> int:
        html = admin.get("/console/").text
        return int(html.split('data-month-requests="', 1)[1].split('"', 1)[0])

    before = month_requests()
    for _ in range(3):
        _chat(console_url, spender.secret)
    _until(lambda: month_requests() >= before + 3)

    sign_in(page, console_keys.admin)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("requests today")).to_be_visible()
    expect(page.get_by_text("cost this month")).to_be_visible()
    expect(page.get_by_text("active keys")).to_be_visible()
    expect(page.get_by_role("link", name="Usage & spend").first).to_be_visible()
    chart = page.locator("figure.chart[data-requests]")
    expect(chart).to_be_visible()
    assert int(chart.get_attribute("data-requests") or "0") >= before + 3
    top = page.locator(".usage-top li")
    expect(top.first).to_be_visible()
    assert top.count() <= 5
    shot(page, "overview")


def test_a_member_sees_their_keys_and_what_is_left(
    page: Page, console_url: str, console_keys: ConsoleKeys, database_url: str
) -> None:
    tag = console_keys.member.name.rsplit("-", 1)[1]
    teammate = add_key(database_url, f"limited-{tag}-{secrets.token_hex(2)}", owner=f"team-{tag}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_keys SET tokens_per_day = 1000000, monthly_budget_usd = 50 WHERE id = %s",
            (teammate.id,),
        )
    _chat(console_url, teammate.secret)
    sign_in(page, console_keys.member)
    card = page.locator(f'[data-key-id="{teammate.id}"]')
    expect(card).to_be_visible()
    expect(card.get_by_label(f"Tokens used today by {teammate.name}")).to_be_visible()
    expect(card.get_by_label(f"Budget used by {teammate.name}")).to_be_visible()
    expect(card).to_contain_text("tokens left today")
    expect(card).to_contain_text("left this month")
    expect(page.locator(f'[data-key-id="{console_keys.member.id}"]')).to_be_visible()
    expect(page.get_by_text(console_keys.other.name)).to_have_count(0)
    expect(page.get_by_text(console_keys.admin.name)).to_have_count(0)
