"""A console stack of this package's own: gateway (with a chat model on a fake OpenAI
server), one worker, keys, and a real headless Chromium driven by Playwright.

The browser is Debian's ``chromium`` (``make test`` installs it when missing); Playwright's
own browser downloads are never used. ``CONSOLE_SCREENSHOTS=docs/console`` makes
``shot`` write the pages' screenshots where docs/console.md shows them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from openai import OpenAI
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from configs import Settings, load_settings
from gateway.entry.app import create_app
from gateway.policy.keys import new_key
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port
from tests.support.servers import ServerThread, start_process

UPSTREAM_KEY = "sk-upstream-" + "c" * 20
Shot = Callable[[Page, str], Path]
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class ConsoleKey:
    id: str
    secret: str
    name: str


@dataclass(frozen=True)
class ConsoleKeys:
    admin: ConsoleKey
    member: ConsoleKey  # may read collections named "shared-*"
    other: ConsoleKey  # another member: its data must stay hidden from ``member``


@pytest.fixture(scope="package")
def console_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="package")
def console_env(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        **stack_env,
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-console",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("console-data")),
        "RAGWAY_WORKER__THREADS": "2",
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
        "RAGWAY_POLICY__USAGE__FLUSH_INTERVAL_S": "0.2",
        "FAKE_OPENAI_KEY": UPSTREAM_KEY,
    }


@pytest.fixture(scope="package")
def console_settings(console_env: dict[str, str], console_upstream: FakeOpenAI) -> Settings:
    settings = load_settings(config_files=[], env=console_env)
    deployment = {
        "name": "chat-fake",
        "provider": "openai",
        "model": "gpt-test",
        "base_url": console_upstream.base_url,
        "api_key_env": "FAKE_OPENAI_KEY",
        "timeout_s": 5,
        "input_price_per_1m": 2.0,
        "output_price_per_1m": 8.0,
    }
    providers = settings.providers.model_validate(
        {"models": {"chat": {"deployments": [deployment]}}}
    )
    return settings.model_copy(update={"providers": providers})


@pytest.fixture(scope="package")
def console_url(
    console_settings: Settings, console_env: dict[str, str], database_url: str
) -> Iterator[str]:
    app = create_app(
        console_settings,
        database_url=database_url,
        redis_url=console_env["REDIS_URL"],
        env=console_env,
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="package")
def console_worker(console_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = start_process(["worker"], console_env)
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def add_key(
    database_url: str,
    name: str,
    *,
    role: str = "member",
    readable: tuple[str, ...] = ("*",),
    owner: str | None = None,
) -> ConsoleKey:
    """A key written straight into the database; returns its id and secret."""
    key = new_key()
    key_id = "key_" + secrets.token_hex(8)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
            "readable_collections, owner) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (key_id, key.key_hash, key.display_prefix, name, role, list(readable), owner),
        )
    return ConsoleKey(key_id, key.plaintext, name)


@pytest.fixture(scope="package")
def console_keys(database_url: str) -> ConsoleKeys:
    tag = secrets.token_hex(3)
    return ConsoleKeys(
        admin=add_key(database_url, f"console-admin-{tag}", role="admin"),
        member=add_key(
            database_url, f"console-member-{tag}", readable=("shared-*",), owner=f"team-{tag}"
        ),
        other=add_key(database_url, f"console-other-{tag}", readable=("other-*",)),
    )


def form_token(html: str) -> str:
    """The sign-in form's token (its hidden ``csrf_token`` field)."""
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def http_session(base_url: str, secret: str) -> httpx.Client:
    """A raw HTTP client signed in through the form (as a script or an attacker would),
    holding the session cookie."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)
    token = form_token(client.get("/console/login").text)
    done = client.post("/console/login", data={"csrf_token": token, "api_key": secret})
    assert done.status_code == 303, done.text
    return client


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, from a signed-in page's meta tag."""
    html = client.get("/console/").text
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def api_client(base_url: str, key: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=30)


# -- the browser -------------------------------------------------------------------


# Module scope: while Playwright's sync driver runs, its event loop is the thread's running
# loop, so an async test (pytest-asyncio) cannot run beside it; each module stops it at its end.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


# Assertions wait as long as actions may (a loaded CI machine is slower than a laptop).
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium") or CHROMIUM
    if not Path(executable).exists():
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, console_url: str) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, on a laptop-sized screen."""
    context = browser.new_context(base_url=console_url, viewport={"width": 1366, "height": 860})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    yield page
    # A script error or a CSP violation (the browser logs both) fails the test that caused it.
    # A refusal the test asked for (a 4xx or 5xx answer: the browser's and htmx's own log
    # lines about it) is not an error of the page.
    unexpected = [
        e for e in errors if not re.search(r"status of [45]\d\d|Response Status Error Code [45]", e)
    ]
    assert not unexpected, unexpected


def sign_in(page: Page, key: ConsoleKey, *, path: str = "/console/") -> None:
    """Sign in through the form, as a person would."""
    page.goto(path)
    page.get_by_label("API key").fill(key.secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {key.name}")).to_be_visible()


@pytest.fixture
def shot(tmp_path: Path) -> Shot:
    """``shot(page, "keys")``: a full-page screenshot, kept in CONSOLE_SCREENSHOTS
    (docs/console when refreshing the docs) or in the test's temporary folder."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)

    def take(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
