"""A PDF's text layer through PDFium, partitioned by unstructured: strategy ``fast``, cheaply.

unstructured's ``fast`` strategy reads PDFs with pdfminer: every glyph becomes a Python
object and the layout analysis groups them, ~45 ms of CPU a dense page, on the cores the
embedder needs. PDFium (C++, via pypdfium2) gives each page's text in content order with
its line breaks and positions for a fraction of that (``_pdfium_lines``). The rest is done
as the ``fast`` path does it: lines grouped into blocks by pdfminer's rule
(``_pdf_layout``), each block classified by unstructured's ``element_from_text`` with its
coordinates (so Header / Footer by position, ListItem, Title, NarrativeText as
partition_pdf would), each page's blocks sorted by unstructured's XY-cut, and filled form
fields read as partition_pdf reads them. About 2 ms a dense page in all, most of it
unstructured's classification.

Rotated pages (``/Rotate``) are read in the page's own coordinates, not as displayed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingestion.parsing._pdf_layout import Block, group_blocks
from ingestion.parsing._pdfium_lines import form_values, page_lines
from ingestion.parsing._rejections import corrupt_pdf, encrypted_pdf, too_many_pages

__all__ = ["PDFIUM_LOCK", "pdfium_partition"]

# PDFium is not thread-safe; a worker parsing in its threads (processes: 0) takes turns.
PDFIUM_LOCK = threading.Lock()
# Dot leaders (a table of contents): PDFium spaces the dots out, pdfminer does not; spaced
# they are a token each for the embedder.
_LEADER = re.compile(r"\.(?: \.){3,}")


def pdfium_partition(path: Path, filename: str, *, max_pages: int) -> list[Any]:
    """The document's unstructured elements, pages in order, each with its page number.

    Encrypted, corrupt and over-long PDFs raise ``DocumentRejectedError``.
    """
    with PDFIUM_LOCK:
        pages = list(_read_pages(path, filename, max_pages=max_pages))
    elements: list[Any] = []
    for number, (blocks, frame) in enumerate(pages, start=1):
        elements.extend(_page_elements(blocks, frame, number))
    return elements


def _read_pages(
    path: Path, filename: str, *, max_pages: int
) -> Iterator[tuple[list[Block], tuple[float, float, float, float]]]:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise encrypted_pdf(filename) from exc
        raise corrupt_pdf(filename, str(exc)) from exc
    try:
        pdf.init_forms()  # before the first page is loaded; nothing without a form
        if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
            raise encrypted_pdf(filename)  # opened with the empty password, still encrypted
        count = len(pdf)
        if count > max_pages:
            raise too_many_pages(filename, count, max_pages)
        for index in range(count):
            page = pdf[index]
            try:
                left, bottom, right, top = page.get_bbox()
                textpage = page.get_textpage()
                try:
                    blocks = group_blocks(page_lines(textpage.raw, pdfium_c))
                finally:
                    textpage.close()
                if pdf.formenv is not None:
                    fields = form_values(page.raw, pdf.formenv.raw, pdfium_c)
                    blocks.extend(Block([field]) for field in fields)
            finally:
                page.close()
            yield blocks, (left, bottom, right, top)
    finally:
        pdf.close()


def _page_elements(
    blocks: list[Block], frame: tuple[float, float, float, float], number: int
) -> list[Any]:
    """unstructured's elements of one page's blocks, classified and sorted as partition_pdf's
    ``fast`` path classifies and sorts pdfminer's."""
    from unstructured.cleaners.core import clean_extra_whitespace
    from unstructured.documents.coordinates import PixelSpace
    from unstructured.partition.text import element_from_text
    from unstructured.partition.utils.constants import SORT_MODE_BASIC, SORT_MODE_XY_CUT
    from unstructured.partition.utils.sorting import sort_page_elements

    left, bottom, right, top = frame
    system = PixelSpace(width=right - left, height=top - bottom)
    elements = []
    for block in blocks:
        text = clean_extra_whitespace(_LEADER.sub(_close_up, block.text))
        if not text:
            continue
        x0, y0, x1, y1 = block.bbox
        # unstructured's pixel space: origin at the top left, y growing downwards.
        ax, ay, bx, by = x0 - left, top - y1, x1 - left, top - y0
        points = ((ax, ay), (ax, by), (bx, by), (bx, ay))
        element = element_from_text(text, coordinates=points, coordinate_system=system)
        element.metadata.page_number = number
        elements.append(element)
    ordered = sort_page_elements(elements, SORT_MODE_BASIC)
    return sort_page_elements(ordered, SORT_MODE_XY_CUT)


def _close_up(leader: re.Match[str]) -> str:
    return leader.group().replace(" ", "")
