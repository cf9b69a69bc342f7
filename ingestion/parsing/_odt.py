"""OpenDocument text (ODT) read from its ``content.xml``: headings open sections.

Headings (``text:h``, with their outline level) give the section path as DOCX headings do;
paragraphs, list items and table rows (cells joined by " | ") are the elements. ODT has no
fixed pages, so elements carry no page number.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingestion.parsing._base import Element
from ingestion.parsing._sections import SectionTracker
from ingestion.parsing._zipxml import attribute, local_name, odf_text, read_xml

__all__ = ["read_odt"]

_SKIPPED = {"sequence-decls", "tracked-changes", "variable-decls", "user-field-decls", "forms"}


def read_odt(path: Path, *, filename: str) -> list[Element]:
    with zipfile.ZipFile(path) as archive:
        content = read_xml(archive, "content.xml", filename=filename, kind="odt")
    body = next(
        (
            text
            for element in content.iter()
            if local_name(element) == "body"
            for text in element
            if local_name(text) == "text"
        ),
        None,
    )
    if body is None:
        return []
    sections = SectionTracker()
    elements: list[Element] = []
    for kind, text, depth in _blocks(body):
        if kind == "Title":
            sections.heading(text, depth)
        elements.append(
            Element(text=text, kind=kind, section=sections.current, is_heading=kind == "Title")
        )
    return elements


def _blocks(element: Any) -> Iterator[tuple[str, str, int]]:
    """(category, text, heading depth) in reading order."""
    for child in element:
        name = local_name(child)
        if name in _SKIPPED or not name:
            continue
        if name in ("h", "p"):
            text = " ".join(odf_text(child).split())
            if not text:
                continue
            if name == "h":
                level = attribute(child, "outline-level")
                yield "Title", text, int(level) - 1 if level.isdigit() and level != "0" else 0
            else:
                yield "NarrativeText", text, 0
        elif name == "table":
            yield from _table(child)
        else:  # lists, sections, frames, ...: their paragraphs in order
            yield from _blocks(child)


def _table(table: Any) -> Iterator[tuple[str, str, int]]:
    for row in table.iter():
        if local_name(row) != "table-row":
            continue
        cells = [
            " ".join(odf_text(p).split())
            for cell in row
            if local_name(cell) == "table-cell"
            for p in cell
            if local_name(p) == "p"
        ]
        text = " | ".join(c for c in cells if c)
        if text:
            yield "Table", text, 0
