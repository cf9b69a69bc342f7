"""Signing in and out, sessions, CSRF and the console's security headers, in a real browser
and over raw HTTP (as an attacker would send it)."""

from __future__ import annotations

import re
import time

import httpx
import psycopg
from playwright.sync_api import Page, expect

from configs import Settings
from gateway.entry.app import create_app
from tests.gateway.console.conftest import ConsoleKeys, Shot, add_key, http_session, sign_in
from tests.support.servers import ServerThread


def test_sign_in_and_out(page: Page, console_keys: ConsoleKeys, shot: Shot) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")
    sign_in(page, console_keys.admin)
    expect(page.get_by_role("navigation", name="Console sections")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_key_is_refused_without_saying_why(page: Page) -> None:
    page.goto("/console/login")
    page.get_by_label("API key").fill("sk-rgw-not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").last).to_contain_text("not valid")
    expect(page.get_by_role("navigation", name="Console sections")).to_have_count(0)


def test_the_session_cookie_is_http_only_and_strict(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    client = httpx.Client(base_url=console_url, follow_redirects=False, timeout=10)
    form = client.get("/console/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/console/login", data={"csrf_token": token, "api_key": console_keys.member.secret}
    )
    cookies = [v for k, v in done.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("ragway_console="))
    lowered = session.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/console" in lowered
    assert console_keys.member.secret not in session


def test_a_change_without_the_csrf_token_is_refused(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    client = http_session(console_url, console_keys.member.secret)
    assert client.get("/console/").status_code == 200
    refused = client.post("/console/logout")
    assert refused.status_code == 403
    assert "security token" in refused.text
    wrong = client.post("/console/logout", headers={"x-csrf-token": "guess"})
    assert wrong.status_code == 403
    assert client.get("/console/").status_code == 200  # still signed in


def test_a_change_from_another_site_is_refused(console_url: str, console_keys: ConsoleKeys) -> None:
    client = http_session(console_url, console_keys.member.secret)
    page = client.get("/console/").text
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    refused = client.post(
        "/console/logout",
        headers={"x-csrf-token": csrf, "origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    signed_out = client.post("/console/logout", headers={"x-csrf-token": csrf})
    assert signed_out.status_code == 303
    assert client.get("/console/").status_code == 303


def test_sign_in_needs_the_form_token(console_url: str, console_keys: ConsoleKeys) -> None:
    client = httpx.Client(base_url=console_url, follow_redirects=False, timeout=10)
    refused = client.post(
        "/console/login", data={"csrf_token": "x", "api_key": console_keys.admin.secret}
    )
    assert refused.status_code == 403
    assert "ragway_console=" not in refused.headers.get("set-cookie", "")


def test_revoking_a_key_ends_its_sessions(console_url: str, database_url: str) -> None:
    key = add_key(database_url, "short-lived")
    client = http_session(console_url, key.secret)
    assert client.get("/console/").status_code == 200
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key.id,))
    gone = client.get("/console/")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/console/login?reason=key_inactive")


def test_sign_in_goes_back_only_to_console_pages(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    for target, expected in (
        ("/console/usage", "/console/usage"),
        ("https://evil.example/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/\\\\evil.example", "/console/"),
    ):
        client = httpx.Client(base_url=console_url, follow_redirects=False, timeout=10)
        form = client.get("/console/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/console/login",
            data={"csrf_token": token, "api_key": console_keys.admin.secret, "next": target},
        )
        assert done.headers["location"] == expected


def test_pages_forbid_framing_inline_script_and_caching(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    client = http_session(console_url, console_keys.admin.secret)
    for path in ("/console/login", "/console/", "/console/no-such-page"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


def test_sessions_expire_cookies_go_secure_and_guessing_is_limited(
    console_settings: Settings, console_env: dict[str, str], database_url: str
) -> None:
    """``secure_cookie: always`` marks the cookie Secure (a TLS-terminating proxy); an idle
    session ends after ``idle_timeout_s``; past ``max_sign_in_failures`` a minute, even the
    right key is not tried (429), so guessing learns nothing."""
    console = console_settings.console.model_copy(
        update={"secure_cookie": "always", "idle_timeout_s": 1.0, "max_sign_in_failures": 3}
    )
    redis = console_settings.redis.model_copy(
        update={"key_prefix": console_settings.redis.key_prefix + "strict:"}
    )
    app = create_app(
        console_settings.model_copy(update={"console": console, "redis": redis}),
        database_url=database_url,
        redis_url=console_env["REDIS_URL"],
        env=console_env,
    )
    key = add_key(database_url, "idle")
    with ServerThread(app) as server:
        client = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10)
        form = client.get("/console/login")
        assert "secure" in form.headers["set-cookie"].lower()
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login = form.headers["set-cookie"].split(";", 1)[0]
        done = client.post(
            "/console/login",
            data={"csrf_token": token, "api_key": key.secret},
            headers={"cookie": login},
        )
        session = next(
            v for k, v in done.headers.multi_items() if k == "set-cookie" and "ragway_console=" in v
        )
        assert "secure" in session.lower()
        cookie = {"cookie": session.split(";", 1)[0]}
        assert client.get("/console/", headers=cookie).status_code == 200
        time.sleep(2.2)  # the idle timeout (whole seconds in Redis) passes
        expired = client.get("/console/", headers=cookie)
        assert expired.status_code == 303
        assert expired.headers["location"].startswith("/console/login?reason=expired")
        if time.time() % 60 > 50:  # failures count per clock minute: start well inside one
            time.sleep(61 - time.time() % 60)
        statuses = []
        for secret in ("wrong-1", "wrong-2", "wrong-3", key.secret):
            form = client.get("/console/login")
            token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            statuses.append(
                client.post(
                    "/console/login",
                    data={"csrf_token": token, "api_key": secret},
                    headers={"cookie": form.headers["set-cookie"].split(";", 1)[0]},
                ).status_code
            )
        assert statuses == [401, 401, 401, 429]


def test_htmx_keeps_no_page_copies_and_evaluates_no_code(
    page: Page, console_keys: ConsoleKeys
) -> None:
    """A page that showed a secret must not live on in the browser's storage (htmx's history
    cache), and no attribute may run script (eval off, beside the CSP)."""
    sign_in(page, console_keys.admin)
    config = page.evaluate(
        "() => ({history: htmx.config.historyCacheSize, eval: htmx.config.allowEval,"
        " scripts: htmx.config.allowScriptTags, self: htmx.config.selfRequestsOnly})"
    )
    assert config == {"history": 0, "eval": False, "scripts": False, "self": True}
    page.goto("/console/keys?role=admin")
    page.goto("/console/usage")
    assert page.evaluate("() => sessionStorage.getItem('htmx-history-cache')") is None
