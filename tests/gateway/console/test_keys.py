"""Keys in the console: create (the secret shown once), rotate, revoke, delete and edit as
an admin in a real browser, with the API as the judge; a member's limits over raw HTTP."""

from __future__ import annotations

import re
import secrets

import openai
import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.gateway.console.conftest import (
    ConsoleKeys,
    Shot,
    add_key,
    csrf_of,
    http_session,
    sign_in,
)
from tests.gateway.console.test_usage import _chat


def _secret_shown(page: Page) -> str:
    box = page.locator("[data-secret-shown] input")
    expect(box).to_be_visible()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_have_attribute(
        "data-copy", box.get_attribute("id") or "?"
    )
    secret = box.input_value()
    assert secret.startswith("sk-rgw-")
    return secret


def test_an_admin_creates_rotates_revokes_and_deletes_a_key(
    page: Page, console_url: str, console_keys: ConsoleKeys, shot: Shot
) -> None:
    name = f"made-in-console-{secrets.token_hex(3)}"
    sign_in(page, console_keys.admin)
    page.goto("/console/keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_role("link", name=console_keys.member.name)).to_be_visible()
    shot(page, "keys")

    form = page.get_by_role("form", name="New key")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Owner").fill("team-console")
    form.get_by_label("Allowed models").fill("chat, gpt-*")
    form.get_by_label("Allowed tools").fill("file_search")
    form.get_by_label("Readable collections").fill("docs-*\nshared")
    form.get_by_label("Requests per minute").fill("120")
    form.get_by_label("Tokens per minute").fill("50000")
    form.get_by_label("Tokens per day").fill("200000")
    form.get_by_label("Monthly budget (USD)").fill("12.5")
    form.get_by_label("PII policy").select_option("redact")
    form.get_by_label("Expires at").fill("2099-01-31T12:00")
    form.get_by_role("button", name="Create key").click()
    secret = _secret_shown(page)
    shot(page, "key-created")

    _chat(console_url, secret)  # the new key works against the API

    page.goto("/console/keys")
    assert secret not in page.content()
    row = page.get_by_role("row", name=re.compile(name))
    expect(row).to_contain_text("team-console")
    expect(row).to_contain_text("chat, gpt-*")
    expect(row).to_contain_text("docs-*, shared")
    expect(row).to_contain_text("120 req/min")
    expect(row).to_contain_text("$12.50/month")
    expect(row).to_contain_text("2099-01-31 12:00 UTC")
    expect(row.get_by_text("active")).to_be_visible()
    prefix = secret[: len("sk-rgw-") + 4]
    expect(row).to_contain_text(prefix)

    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=f"Key {name}")).to_be_visible()
    expect(page.get_by_label("Tokens used today")).to_be_visible()
    expect(page.get_by_label("Monthly budget used")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text="redact")).to_be_visible()
    assert secret not in page.content()
    shot(page, "key-detail")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    rotated = _secret_shown(page)
    assert rotated != secret
    with pytest.raises(openai.AuthenticationError):
        _chat(console_url, secret)
    _chat(console_url, rotated)

    page.get_by_role("button", name="Revoke").click()
    expect(page.locator(".page-head .badge")).to_have_text("revoked")
    assert rotated not in page.content()
    with pytest.raises(openai.AuthenticationError):
        _chat(console_url, rotated)

    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/console/keys$"))
    page.get_by_label("Include revoked").check()
    expect(page.locator("#keys-table")).not_to_contain_text(name)


def test_an_admin_changes_a_keys_allowances(
    page: Page, console_keys: ConsoleKeys, database_url: str
) -> None:
    key = add_key(database_url, f"to-edit-{secrets.token_hex(3)}")
    sign_in(page, console_keys.admin)
    page.goto(f"/console/keys/{key.id}")
    form = page.get_by_role("form", name="Change allowances")
    form.get_by_label("Requests per minute").fill("7")
    form.get_by_label("Allowed models").fill("chat")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("dl.facts").first).to_contain_text("chat")
    expect(page.get_by_text("7", exact=True).first).to_be_visible()
    expect(
        page.get_by_role("form", name="Change allowances").get_by_label("Requests per minute")
    ).to_have_value("7")


def test_invalid_input_is_a_message_naming_the_field(
    context: BrowserContext, console_keys: ConsoleKeys
) -> None:
    # Not the ``page`` fixture: htmx logs each 4xx answer ("Response Status Error Code 400")
    # as a console error, which that fixture counts as a failure; any other error still is.
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, console_keys.admin)
    page.goto("/console/keys")
    form = page.get_by_role("form", name="New key")
    form.get_by_label("Name").fill("bad-limits")
    form.get_by_label("Requests per minute").fill("-3")
    form.get_by_role("button", name="Create key").click()
    alert = page.locator("#flash .alert-error")
    expect(alert).to_contain_text("rpm")
    expect(alert).to_contain_text("greater than 0")
    form.get_by_label("Requests per minute").fill("")
    form.get_by_label("Tokens per day").fill("lots")
    form.get_by_role("button", name="Create key").click()
    expect(alert).to_contain_text("tokens_per_day")
    expect(page.locator("[data-secret-shown]")).to_have_count(0)
    unexpected = [e for e in errors if not re.search(r"Error Code 400|status of 400", e)]
    assert not unexpected, unexpected


def test_the_list_filters_by_role_owner_and_text(
    page: Page, console_keys: ConsoleKeys, database_url: str
) -> None:
    owner = f"filter-team-{secrets.token_hex(3)}"
    kept = add_key(database_url, f"kept-{owner}", owner=owner)
    add_key(database_url, f"admin-{owner}", role="admin", owner=owner)
    sign_in(page, console_keys.admin)
    page.goto("/console/keys")
    page.get_by_label("Owner").first.fill(owner)
    page.get_by_label("Role").first.select_option("member")
    expect(page.locator("#keys-table")).to_have_attribute("data-count", "1")
    expect(page.get_by_role("link", name=kept.name)).to_be_visible()
    page.get_by_label("Name or prefix").fill("nothing-like-this")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#keys-table")).to_have_attribute("data-count", "0")


def test_a_member_reads_their_own_keys_and_nothing_else(
    console_url: str, console_keys: ConsoleKeys, database_url: str
) -> None:
    member, other = console_keys.member, console_keys.other
    tag = member.name.rsplit("-", 1)[1]
    teammate = add_key(database_url, f"teammate-{tag}", owner=f"team-{tag}")
    client = http_session(console_url, member.secret)
    csrf = {"x-csrf-token": csrf_of(client)}

    assert client.get("/console/keys").status_code == 403
    form = {"name": "sneaky", "role": "admin"}
    assert client.post("/console/keys", data=form, headers=csrf).status_code == 403
    for key_id in (other.id, member.id, teammate.id):
        for action in ("rotate", "revoke", "delete"):
            response = client.post(f"/console/keys/{key_id}/{action}", headers=csrf)
            assert response.status_code == 403, (key_id, action)
        changed = client.post(f"/console/keys/{key_id}", data={"name": "x"}, headers=csrf)
        assert changed.status_code == 403
    assert client.get(f"/console/keys/{other.id}").status_code == 404
    assert client.get(f"/console/keys/{console_keys.admin.id}").status_code == 404

    for key in (member, teammate):
        own = client.get(f"/console/keys/{key.id}")
        assert own.status_code == 200
        assert key.name in own.text
        assert "Rotate secret" not in own.text
        assert "Change allowances" not in own.text
    _chat(console_url, other.secret)  # the other key still works: nothing was changed


def test_without_script_a_plain_form_creates_a_key_whose_secret_never_shows_again(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    admin = http_session(console_url, console_keys.admin.secret)
    csrf = csrf_of(admin)
    name = f"plain-form-{secrets.token_hex(3)}"
    created = admin.post(
        "/console/keys",
        data={"csrf_token": csrf, "name": name, "allowed_models": "chat", "rpm": "5"},
    )
    assert created.status_code == 200
    assert "<html" in created.text  # a whole page, not an htmx piece
    secret = created.text.split('readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("sk-rgw-")
    assert "will not be shown again" in created.text
    _chat(console_url, secret)
    key_id = created.text.split('href="/console/keys/', 1)[1].split('"', 1)[0]
    for path in ("/console/keys", f"/console/keys/{key_id}", "/console/", "/console/usage"):
        later = admin.get(path)
        assert later.status_code == 200, path
        assert secret not in later.text, path
        assert secret[11:] not in later.text, path  # beyond the display prefix
    fragment = admin.get("/console/keys", params={"q": name}, headers={"hx-target": "keys-table"})
    assert "<html" not in fragment.text
    assert name in fragment.text
    assert secret not in fragment.text

    rotated = admin.post(f"/console/keys/{key_id}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 200
    assert "The old secret no longer works" in rotated.text
    deleted = admin.post(f"/console/keys/{key_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert admin.get(f"/console/keys/{key_id}").status_code == 404


def test_status_badges_say_expired_and_revoked(
    page: Page, console_keys: ConsoleKeys, database_url: str
) -> None:
    owner = f"badges-{secrets.token_hex(3)}"
    expired = add_key(database_url, f"expired-{owner}", owner=owner)
    revoked = add_key(database_url, f"revoked-{owner}", owner=owner)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 day' WHERE id = %s",
            (expired.id,),
        )
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (revoked.id,))
    sign_in(page, console_keys.admin)
    page.goto(f"/console/keys?owner={owner}&include_revoked=1")
    expect(page.get_by_role("row", name=re.compile(expired.name))).to_contain_text("expired")
    expect(page.get_by_role("row", name=re.compile(revoked.name))).to_contain_text("revoked")
    page.goto(f"/console/keys?owner={owner}")
    expect(page.locator("#keys-table")).to_have_attribute("data-count", "1")
    page.goto(f"/console/keys/{expired.id}")
    expect(page.get_by_role("button", name="Rotate secret")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
