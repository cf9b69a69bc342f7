"""The console's front-end ships with the package: pinned, vendored, and nothing fetched
from elsewhere by the browser (self-hosted, offline networks)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

import gateway.api.console as console_package

CONSOLE = Path(console_package.__file__).parent
HTMX = CONSOLE / "static" / "vendor" / "htmx-2.0.11.min.js"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

# An absolute URL in an attribute or a CSS url(): anything the browser would fetch elsewhere.
_EXTERNAL = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
)


def test_htmx_is_the_pinned_release() -> None:
    assert hashlib.sha256(HTMX.read_bytes()).hexdigest() == HTMX_SHA256
    readme = (CONSOLE / "static" / "vendor" / "README.md").read_text()
    assert HTMX_SHA256 in readme
    assert (
        (CONSOLE / "static" / "vendor" / "htmx-2.0.11.LICENSE")
        .read_text()
        .startswith("Zero-Clause BSD")
    )


def test_no_page_or_asset_points_the_browser_elsewhere() -> None:
    files = [
        *CONSOLE.joinpath("templates").glob("*.html"),
        *CONSOLE.joinpath("static").glob("*.css"),
        *CONSOLE.joinpath("static").glob("*.js"),
    ]
    assert len(files) >= 5
    for path in files:
        found = _EXTERNAL.search(path.read_text())
        assert found is None, f"{path.name} loads {found.group(0)!r} from another site"


def test_no_template_marks_a_value_safe() -> None:
    """Autoescaping is the XSS defence: no template may switch it off for a value."""
    for path in CONSOLE.joinpath("templates").glob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", ""), path.name
        assert "autoescape false" not in text, path.name


def test_assets_are_served_with_their_type_and_cached_privately(console_url: str) -> None:
    for path, kind in (
        ("/console/static/vendor/htmx-2.0.11.min.js", "javascript"),
        ("/console/static/console.css", "text/css"),
        ("/console/static/console.js", "javascript"),
    ):
        response = httpx.get(console_url + path, timeout=10)
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert "private" in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(console_url + "/console/static/../_render.py", timeout=10).status_code in (
        400,
        404,
    )
