"""Every console page is usable without a mouse and by a screen reader: each control has a
label, charts and icons have names, headings start at h1, and the keyboard reaches the
content first (the skip link)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.gateway.console.conftest import ConsoleKeys, sign_in

PAGES = (
    "/console/",
    "/console/keys",
    "/console/collections",
    "/console/usage",
    "/console/health",
    "/console/audit",
)

# Controls a person uses that have no accessible name, images without one, and the page's
# first heading level: computed in the page, as assistive technology sees it.
_AUDIT = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) return true;
    if (el.closest('label')) return true;
    if (el.tagName === 'BUTTON' || el.tagName === 'A') return el.textContent.trim() !== '';
    return !!el.getAttribute('title');
  };
  const visible = (el) => el.type !== 'hidden' && el.offsetParent !== null;
  const controls = [...document.querySelectorAll('input, select, textarea, button, a[href]')]
    .filter(visible).filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
  const images = [...document.querySelectorAll('svg[role="img"], img')]
    .filter((el) => !el.getAttribute('aria-label') && !el.getAttribute('alt'))
    .map((el) => el.outerHTML.slice(0, 120));
  const first = document.querySelector('main h1, main h2, main h3');
  return {controls, images, first: first ? first.tagName : null,
          lang: document.documentElement.lang};
}"""


@pytest.mark.parametrize("path", PAGES)
def test_every_control_and_chart_has_a_name(
    page: Page, console_keys: ConsoleKeys, path: str
) -> None:
    sign_in(page, console_keys.admin, path=path)
    found: dict[str, Any] = page.evaluate(_AUDIT)
    assert found["controls"] == []
    assert found["images"] == []
    assert found["first"] == "H1"
    assert found["lang"] == "en"


def test_the_keyboard_reaches_the_content_first(page: Page, console_keys: ConsoleKeys) -> None:
    sign_in(page, console_keys.admin)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # the sections menu is reachable and says which page is open
    nav = page.get_by_role("navigation", name="Console sections")
    expect(nav.locator('[aria-current="page"]')).to_have_text("Overview")
