"""A member's session reaches only what a member may see: the server refuses the rest
(403), whatever the links on the page say; and a member's menu offers only its own areas."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.gateway.console.conftest import ConsoleKeys, sign_in

ADMIN_PAGES = ("/console/keys", "/console/health", "/console/audit")


def _signed_in(base_url: str, secret: str) -> tuple[httpx.Client, str]:
    """A raw HTTP client with a session, and the session's CSRF token."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)
    form = client.get("/console/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/console/login", data={"csrf_token": token, "api_key": secret})
    assert done.status_code == 303, done.text
    home = client.get("/console/").text
    return client, home.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_refuse_a_member_on_the_server(
    console_url: str, console_keys: ConsoleKeys, path: str
) -> None:
    member, _ = _signed_in(console_url, console_keys.member.secret)
    refused = member.get(path)
    assert refused.status_code == 403
    assert "admin" in refused.text
    admin, _ = _signed_in(console_url, console_keys.admin.secret)
    assert admin.get(path).status_code == 200


def test_a_member_cannot_create_a_key_even_with_a_valid_token(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    member, csrf = _signed_in(console_url, console_keys.member.secret)
    refused = member.post(
        "/console/keys",
        data={"name": "sneaky", "role": "admin", "csrf_token": csrf},
        headers={"x-csrf-token": csrf},
    )
    assert refused.status_code == 403
    admin, _ = _signed_in(console_url, console_keys.admin.secret)
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
