"""Usage & spend: the SVG charts (pure), the CSV's safety, and the page and export in a real
browser and over raw HTTP, where a member sees their own keys' usage only."""

from __future__ import annotations

import csv
import io
import re
import secrets
import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect

from gateway.api.console._charts import Series, bar_chart, nice_ceiling
from gateway.api.console._reports import safe_cell
from tests.gateway.console.conftest import (
    ConsoleKeys,
    Shot,
    add_key,
    api_client,
    http_session,
    sign_in,
)

# -- helpers (test_keys and test_home use them too) -----------------------------------


def _chat(base_url: str, secret: str) -> None:
    with api_client(base_url, secret) as client:
        client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hello"}]
        )


def _until(check: Callable[[], bool], *, timeout: float = 15.0) -> None:
    """Poll ``check`` (which reloads what it reads) until it holds; usage is flushed every
    0.2 s, so a request shows up in the reports a moment after its response."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "usage did not show up in time"
        time.sleep(0.2)


def _requests_on_page(page: Page) -> int:
    return int(page.locator("[data-requests]").first.get_attribute("data-requests") or "-1")


# -- charts ----------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:g}"


def test_a_chart_of_no_days_is_empty_but_labelled() -> None:
    chart = bar_chart("requests", "Requests per day", [], [Series("Requests", ())], _fmt)
    assert chart.bars == ()
    assert chart.rows == ()
    assert chart.total == 0
    assert chart.data_total == "0"
    assert "no days" in chart.summary
    assert [t.label for t in chart.y_ticks] == ["0", "0.5", "1"]


def test_a_chart_of_one_day_fills_the_plot() -> None:
    day = date(2026, 12, 1)
    chart = bar_chart("tokens", "Tokens", [day], [Series("In", (30,)), Series("Out", (10,))], _fmt)
    assert chart.total == 40
    assert chart.data_total == "40"
    first, second = chart.bars
    assert (first.css, second.css) == ("series-1", "series-2")
    assert first.y + first.height == pytest.approx(chart.baseline)  # stacked from the axis up
    assert second.y + second.height == pytest.approx(first.y)  # out on top of in
    assert first.height == pytest.approx(3 * second.height)
    assert first.title == "2026-12-01 · In: 30"
    assert chart.rows == (("2026-12-01", ("30", "10")),)
    assert [t.label for t in chart.y_ticks][-1] == "50"  # 40 rounds up to a nice 50
    assert chart.summary == "Tokens, 2026-12-01 to 2026-12-01: 40 in all"


def test_a_chart_of_many_days_skips_zeros_and_thins_its_labels() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
    values = tuple(float(n % 3) for n in range(30))  # 0, 1, 2, 0, 1, 2, ...
    chart = bar_chart("cost", "Cost", days, [Series("Cost", values)], _fmt)
    assert len(chart.bars) == 20  # no rectangle for a zero
    assert len(chart.rows) == 30
    assert len(chart.x_ticks) <= 8
    assert chart.total == 30
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs)
    assert all(bar.x + bar.width <= chart.right for bar in chart.bars)
    tallest = max(bar.height for bar in chart.bars)
    assert tallest == pytest.approx(chart.baseline - chart.y_ticks[-1].position)
    with pytest.raises(ValueError, match="values"):
        bar_chart("x", "X", days, [Series("short", (1.0,))], _fmt)


def test_nice_ceilings() -> None:
    assert [nice_ceiling(v) for v in (0, 0.003, 1, 3, 7, 11, 240, 251)] == [
        1,
        0.005,
        1,
        5,
        10,
        20,
        250,
        500,
    ]


def test_csv_cells_never_start_a_formula() -> None:
    for text in ("=1+2", "+cmd", "-2", "@SUM(A1)", "\tx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""
    assert safe_cell(3) == "3"


# -- the page and the export ------------------------------------------------------------


def test_the_chart_counts_a_new_request(
    page: Page, console_url: str, console_keys: ConsoleKeys, database_url: str, shot: Shot
) -> None:
    key = add_key(database_url, "chart-key")
    sign_in(page, console_keys.admin)
    page.goto(f"/console/usage?key={key.id}")
    expect(page.get_by_role("heading", name="Usage & spend")).to_be_visible()
    chart = page.locator("figure.chart").first
    expect(chart).to_have_attribute("data-requests", "0")
    _chat(console_url, key.secret)

    def counted() -> bool:
        page.reload()
        return _requests_on_page(page) == 1

    _until(counted)
    expect(page.get_by_role("img", name=re.compile("Requests per day"))).to_be_visible()
    expect(page.locator("figure.chart[data-tokens]")).not_to_have_attribute("data-tokens", "0")
    by_key = page.get_by_role("row", name=re.compile("chart-key"))
    expect(by_key.first).to_be_visible()
    page.goto("/console/usage")
    expect(page.get_by_role("heading", name="Budget burn this month")).to_be_visible()
    shot(page, "usage")


def test_the_csv_export_is_an_attachment_safe_for_spreadsheets(
    console_url: str, console_keys: ConsoleKeys, database_url: str
) -> None:
    key = add_key(database_url, '=HYPERLINK("http://evil.example","x")')
    _chat(console_url, key.secret)
    admin = http_session(console_url, console_keys.admin.secret)

    def export() -> httpx.Response:
        return admin.get("/console/usage.csv", params={"group_by": "key,model,day"})

    _until(lambda: key.id in export().text)
    response = export()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["key_id", "key_name", "model", "day"]
    mine = [row for row in rows if row[0] == key.id]
    assert len(mine) == 1
    assert mine[0][1].startswith("'=HYPERLINK")
    assert mine[0][2] == "chat"
    assert mine[0][4] == "1"  # requests
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    by_model = admin.get("/console/usage.csv", params={"group_by": "model"})
    assert by_model.text.splitlines()[0].startswith("model,requests")
    bad = admin.get("/console/usage.csv", params={"group_by": "colour"})
    assert bad.status_code == 400
    assert "group_by" in bad.text


def test_a_member_sees_only_their_own_keys_usage(
    page: Page, console_url: str, console_keys: ConsoleKeys
) -> None:
    member, other = console_keys.member, console_keys.other
    _chat(console_url, member.secret)
    _chat(console_url, other.secret)
    admin = http_session(console_url, console_keys.admin.secret)
    _until(lambda: member.id in (t := admin.get("/console/usage.csv").text) and other.id in t)

    client = http_session(console_url, member.secret)
    html = client.get("/console/usage").text
    assert member.name in html
    assert other.name not in html
    assert other.id not in html
    exported = client.get("/console/usage.csv").text
    assert member.id in exported
    assert other.id not in exported
    asked_for_other = client.get("/console/usage.csv", params={"key": other.id}).text
    assert other.id not in asked_for_other
    assert len(asked_for_other.splitlines()) == 1  # the header only
    page_for_other = client.get("/console/usage", params={"key": other.id})
    assert page_for_other.status_code == 200
    assert other.name not in page_for_other.text
    assert 'data-requests="0"' in page_for_other.text

    sign_in(page, member)
    page.goto("/console/usage")
    expect(page.get_by_text("Showing the usage of your own keys only.")).to_be_visible()
    expect(page.get_by_role("link", name=member.name).first).to_be_visible()
    expect(page.get_by_text(other.name)).to_have_count(0)


def test_a_bad_date_is_a_message_not_a_crash(console_url: str, console_keys: ConsoleKeys) -> None:
    admin = http_session(console_url, console_keys.admin.secret)
    response = admin.get("/console/usage", params={"start": "yesterday"})
    assert response.status_code == 400
    assert "start" in response.text
    backwards = admin.get("/console/usage", params={"start": "2026-12-05", "end": "2026-12-01"})
    assert backwards.status_code == 400
    assert "end" in backwards.text


def test_a_key_over_its_monthly_budget_is_flagged(
    page: Page, console_url: str, console_keys: ConsoleKeys, database_url: str
) -> None:
    key = add_key(database_url, f"over-budget-{secrets.token_hex(3)}")
    admin = http_session(console_url, console_keys.admin.secret)
    _chat(console_url, key.secret)
    _until(lambda: key.id in admin.get("/console/usage.csv").text)
    assert key.name not in admin.get("/console/usage").text.split("Budget burn", 1)[1]
    # The budget is lowered below what the key already spent (the gateway would refuse a
    # request that could pass it, so spend cannot overshoot it by itself in a test).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET monthly_budget_usd = 0.000001 WHERE id = %s", (key.id,))

    sign_in(page, console_keys.admin)
    page.goto("/console/usage")
    row = page.locator("tr.over-budget", has_text=key.name)
    expect(row).to_be_visible()
    expect(row.get_by_text("over", exact=True)).to_be_visible()
    expect(row.get_by_label(f"Budget used by {key.name}")).to_be_visible()
    page.goto(f"/console/keys/{key.id}")
    expect(page.locator(".meter.over")).to_have_count(1)
