"""Page headers and footers in PDFs: running furniture to drop, or the page's own text.

unstructured's PDF partitioning calls any text in the top or bottom 7% of a page a
``Header`` or ``Footer`` by its position alone (``partition.text.element_from_text``), not
because it repeats. Dropping every such element loses the first line of each page of a
document set with narrow margins, and turns a PDF holding one line near the top into
"contains no text". What marks a running header or footer is repetition: its text recurs
on other pages, or it is only a page number. Those are dropped; the rest is kept as text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["FURNITURE_CATEGORIES", "furniture_key", "running_furniture"]

FURNITURE_CATEGORIES = frozenset({"Header", "Footer"})

_PAGE_NUMBER = re.compile(
    r"^[\W_]*(page|p\.|seite|página|pagina)?\s*\d+(\s*(of|/|von|de)\s*\d+)?[\W_]*$", re.IGNORECASE
)


def furniture_key(text: str) -> str:
    """The text as repetitions are compared: case and spacing ignored."""
    return " ".join(text.split()).casefold()


def running_furniture(headers: Iterable[tuple[str, int | None]]) -> set[str]:
    """Keys of the header / footer texts (with their page numbers) that are furniture:
    seen on at least two pages, or nothing but a page number."""
    pages: defaultdict[str, set[int | None]] = defaultdict(set)
    for text, page in headers:
        pages[furniture_key(text)].add(page)
    return {key for key, seen in pages.items() if len(seen) > 1 or _PAGE_NUMBER.match(key)}
