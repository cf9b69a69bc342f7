"""Console pages: collections (being built)."""

from __future__ import annotations

from typing import Any

__all__ = ["routes"]


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return []
