"""EPUB e-books: each chapter of the spine partitioned as HTML, in reading order.

The package's ``META-INF/container.xml`` names the OPF file; its spine lists the chapters.
Each chapter's XHTML goes through unstructured's ``partition_html`` (as an HTML upload
does), so its headings give the sections; the chapter's position in the spine (from 1) is
the elements' page number, so a chunk never spans two chapters.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._base import Element
from ingestion.parsing._zipxml import local_name, member_names, read_xml

__all__ = ["read_epub"]

_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")  # lxml refuses it in a str
_XHTML = {"application/xhtml+xml", "text/html", "application/xml"}

HtmlElements = Callable[[str], list[Element]]
"""HTML text to elements (with sections), as the HTML partitioner gives them."""


def read_epub(path: Path, *, filename: str, html: HtmlElements) -> list[Element]:
    with zipfile.ZipFile(path) as archive:
        container = read_xml(archive, "META-INF/container.xml", filename=filename, kind="epub")
        rootfile = next(
            (e.get("full-path") for e in container.iter() if local_name(e) == "rootfile"), None
        )
        if not rootfile:
            raise DocumentRejectedError(
                "invalid_file", f"{filename!r} could not be parsed as epub: no rootfile"
            )
        package = read_xml(archive, rootfile, filename=filename, kind="epub")
        chapters = _spine(package, posixpath.dirname(rootfile))
        present = member_names(archive)
        elements: list[Element] = []
        for number, member in enumerate((c for c in chapters if c in present), start=1):
            text = _XML_DECLARATION.sub("", archive.read(member).decode("utf-8", errors="replace"))
            elements.extend(
                dataclasses.replace(element, page_number=number) for element in html(text)
            )
    return elements


def _spine(package: Any, base: str) -> list[str]:
    """The chapters' member names, in spine order (XHTML items only)."""
    items: dict[str, str] = {}
    order: list[str] = []
    for element in package.iter():
        name = local_name(element)
        if name == "item" and element.get("media-type") in _XHTML:
            href = unquote(element.get("href", "").split("#", 1)[0])
            items[element.get("id", "")] = posixpath.normpath(posixpath.join(base, href))
        elif name == "itemref" and element.get("linear", "yes") != "no":
            order.append(element.get("idref", ""))
    return [items[idref] for idref in order if idref in items]
