"""A member's session reaches only what a member may see: the server refuses the rest
(403), whatever the links on the page say; and a member's menu offers only its own areas."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.gateway.console.conftest import ConsoleKeys, csrf_of, http_session, sign_in

ADMIN_PAGES = ("/console/keys", "/console/health", "/console/audit")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_refuse_a_member_on_the_server(
    console_url: str, console_keys: ConsoleKeys, path: str
) -> None:
    member = http_session(console_url, console_keys.member.secret)
    refused = member.get(path)
    assert refused.status_code == 403
    assert "admin" in refused.text
    admin = http_session(console_url, console_keys.admin.secret)
    assert admin.get(path).status_code == 200


def test_a_member_cannot_create_a_key_even_with_a_valid_token(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    member = http_session(console_url, console_keys.member.secret)
    csrf = csrf_of(member)
    refused = member.post(
        "/console/keys",
        data={"name": "sneaky", "role": "admin", "csrf_token": csrf},
        headers={"x-csrf-token": csrf},
    )
    assert refused.status_code == 403
    admin = http_session(console_url, console_keys.admin.secret)
    assert "sneaky" not in admin.get("/console/keys", params={"include_revoked": "true"}).text


def test_a_members_menu_offers_only_its_areas(page: Page, console_keys: ConsoleKeys) -> None:
    sign_in(page, console_keys.member)
    nav = page.get_by_role("navigation", name="Console sections")
    for label in ("Overview", "Collections", "Usage & spend"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    for label in ("Keys", "Models & health", "Audit"):
        expect(nav.get_by_role("link", name=label)).to_have_count(0)
    page.goto("/console/keys")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
