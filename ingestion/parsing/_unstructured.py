"""The unstructured parser: one partitioner per document kind, strategy ``fast`` by default.

PDFs with strategy ``fast`` take their text layer from PDFium by default (``_pdfium``:
~20 times less CPU than pdfminer's layout analysis, which shares the cores with the
embedder); ``pdf_engine="pdfminer"`` keeps unstructured's own ``partition_pdf`` for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._archive import check_zip_expansion
from ingestion.parsing._base import (
    IMAGE_KINDS,
    ZIP_KINDS,
    Cancelled,
    DocumentKind,
    Element,
    detect_kind,
)
from ingestion.parsing._code import read_code
from ingestion.parsing._epub import read_epub
from ingestion.parsing._furniture import FURNITURE_CATEGORIES, furniture_key, running_furniture
from ingestion.parsing._jsondoc import read_json, read_jsonl
from ingestion.parsing._mail import AttachmentBudget, AttachmentLimits, read_eml, read_msg
from ingestion.parsing._ocr import OcrReader, ocr_unavailable
from ingestion.parsing._odt import read_odt
from ingestion.parsing._offline import prepare_unstructured
from ingestion.parsing._pdfium import pdfium_partition
from ingestion.parsing._rejections import corrupt_pdf, encrypted_pdf, too_many_pages
from ingestion.parsing._rtf import rtf_text
from ingestion.parsing._sections import SectionTracker, looks_like_heading
from ingestion.parsing._sheets import read_ods, read_xlsx

__all__ = ["UnstructuredParser"]

_SKIPPED_CATEGORIES = {"PageBreak", "Image", "PageNumber"}
# Kinds whose headers and footers are known by their position on a page (scans included).
_LAID_OUT = IMAGE_KINDS | {DocumentKind.PDF}
_PARTITIONERS = {
    DocumentKind.PDF: ("unstructured.partition.pdf", "partition_pdf"),
    DocumentKind.DOCX: ("unstructured.partition.docx", "partition_docx"),
    DocumentKind.PPTX: ("unstructured.partition.pptx", "partition_pptx"),
    DocumentKind.HTML: ("unstructured.partition.html", "partition_html"),
    DocumentKind.MARKDOWN: ("unstructured.partition.md", "partition_md"),
    DocumentKind.TEXT: ("unstructured.partition.text", "partition_text"),
    DocumentKind.CSV: ("unstructured.partition.csv", "partition_csv"),
}
_OwnReader = Callable[[Path, str, AttachmentBudget], list[Element]]


class UnstructuredParser:
    """Partitions PDF, DOCX, PPTX, HTML, Markdown, text and CSV with unstructured, and reads
    spreadsheets, ODT, EPUB, RTF, e-mail, JSON and source code with ragway's own readers
    (``_sheets``, ``_odt``, ...: unstructured's partitioners for these need packages or the
    pandoc binary that ragway does not ship; EPUB chapters and RTF text still go through
    unstructured's HTML and text partitioners).

    unstructured (and spaCy, pdfminer, ...) are imported on the first ``parse``, never at
    import time. Corrupt, encrypted, empty and over-long documents are rejected with
    ``invalid_file``, and so are zip packages (DOCX, XLSX, EPUB, ...) that would unzip past
    ``max_expanded_bytes`` (zip bombs); unknown types with ``unsupported_file``.

    ``ocr`` (Tesseract) reads images, and with strategy ``fast`` the pages of a PDF that
    have no usable text layer (``_ocr``); without it images are refused (``unsupported_file``).

    ``pdf_engine`` picks the text layer of PDFs with strategy ``fast``: ``pdfium`` (lines
    grouped into blocks by pdfminer's rule, classified and ordered by unstructured) or
    ``pdfminer`` (``partition_pdf``). The other strategies always go to ``partition_pdf``.
    """

    def __init__(
        self,
        *,
        strategy: str = "fast",
        max_pages: int = 2000,
        languages: Sequence[str] = ("eng",),
        max_expanded_bytes: int = 256 * 1024 * 1024,
        pdf_engine: Literal["pdfium", "pdfminer"] = "pdfium",
        ocr: OcrReader | None = None,
        attachments: AttachmentLimits | None = None,
    ) -> None:
        self._strategy = strategy
        self._pdfium = strategy == "fast" and pdf_engine == "pdfium"
        self._max_pages = max_pages
        self._languages = list(languages)
        self._max_expanded_bytes = max_expanded_bytes
        self._ocr = ocr
        self._attachments = attachments or AttachmentLimits()

    def prepare(self) -> None:
        """Import unstructured and every partitioner (seconds, once per process)."""
        prepare_unstructured()
        for module, _name in _PARTITIONERS.values():
            importlib.import_module(module)

    def parse(
        self, path: Path, *, filename: str, cancelled: Cancelled | None = None
    ) -> list[Element]:
        """``cancelled`` is not asked: a parse in this process cannot be interrupted (run it
        in a ``ProcessParser`` for that)."""
        return self._parse(path, filename, AttachmentBudget(self._attachments))

    def _parse(self, path: Path, filename: str, budget: AttachmentBudget) -> list[Element]:
        """One document, or one attachment of an e-mail ``budget`` levels down."""
        with path.open("rb") as handle:
            head = handle.read(1024)
        kind = detect_kind(filename, head)
        if kind is DocumentKind.PDF and not self._pdfium:
            self._check_pdf(path, filename)  # the PDFium path checks as it opens
        elif kind in ZIP_KINDS:
            check_zip_expansion(
                path, filename, kind.value, max_expanded_bytes=self._max_expanded_bytes
            )
        prepare_unstructured()
        own = self._own_reader(kind)
        try:
            if own is not None:
                elements = own(path, filename, budget)
            else:
                raw = self._partitioner(kind)(path, filename)
                elements = self._elements(raw, positional_furniture=kind in _LAID_OUT)
        except DocumentRejectedError:
            raise
        except Exception as exc:
            # Any failure of a third-party parser on this input means it is unreadable.
            raise DocumentRejectedError(
                "invalid_file", f"{filename!r} could not be parsed as {kind.value}: {_brief(exc)}"
            ) from exc
        if not elements:
            hint = self._no_text_hint(kind)
            raise DocumentRejectedError("invalid_file", f"{filename!r} contains no text{hint}")
        pages = max((e.page_number or 0 for e in elements), default=0)
        if pages > self._max_pages:
            raise too_many_pages(filename, pages, self._max_pages)
        return elements

    def _check_pdf(self, path: Path, filename: str) -> None:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                raise encrypted_pdf(filename)
            pages = len(reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            raise corrupt_pdf(filename, _brief(exc)) from exc
        if pages > self._max_pages:
            raise too_many_pages(filename, pages, self._max_pages)

    def _own_reader(self, kind: DocumentKind) -> _OwnReader | None:
        """ragway's reader for ``kind``; None where an unstructured partitioner reads it."""
        match kind:
            case DocumentKind.XLSX:
                return lambda path, filename, _budget: read_xlsx(path, filename=filename)
            case DocumentKind.ODS:
                return lambda path, filename, _budget: read_ods(path, filename=filename)
            case DocumentKind.ODT:
                return lambda path, filename, _budget: read_odt(path, filename=filename)
            case DocumentKind.EPUB:
                return lambda path, filename, _budget: read_epub(
                    path, filename=filename, html=self._html
                )
            case DocumentKind.RTF:
                return lambda path, _filename, _budget: self._text(rtf_text(path.read_bytes()))
            case DocumentKind.JSON:
                return lambda path, filename, _budget: read_json(path, filename=filename)
            case DocumentKind.JSONL:
                return lambda path, filename, _budget: read_jsonl(path, filename=filename)
            case DocumentKind.CODE:
                return lambda path, filename, _budget: read_code(path, filename=filename)
            case DocumentKind.EML | DocumentKind.MSG:
                read = read_eml if kind is DocumentKind.EML else read_msg
                return lambda path, filename, budget: read(
                    path, filename=filename, html=self._html, parse=self._parse, budget=budget
                )
            case _:
                return None

    def _html(self, text: str) -> list[Element]:
        from unstructured.partition.html import partition_html

        raw = partition_html(text=text, languages=self._languages)
        return self._elements(list(raw), positional_furniture=False)

    def _text(self, text: str) -> list[Element]:
        from unstructured.partition.text import partition_text

        if not text.strip():
            return []
        raw = partition_text(text=text, languages=self._languages)
        return self._elements(list(raw), positional_furniture=False)

    def _partitioner(self, kind: DocumentKind) -> Callable[[Path, str], list[Any]]:
        """``(path, filename) -> unstructured elements``; ``filename`` names the document in
        rejections. Images, and the scanned pages of a PDF with strategy ``fast``, are read by
        OCR (where it is on)."""
        if kind in IMAGE_KINDS:
            return self._read_image
        partition = self._text_partitioner(kind)
        ocr = self._ocr
        if kind is DocumentKind.PDF and self._strategy == "fast" and ocr is not None:
            return lambda path, filename: ocr.scanned_pages(
                path, filename, partition(path, filename), max_pages=self._max_pages
            )
        return partition

    def _read_image(self, path: Path, filename: str) -> list[Any]:
        if self._ocr is None:
            raise ocr_unavailable(filename)
        return self._ocr.image(path, filename, max_pages=self._max_pages)

    def _no_text_hint(self, kind: DocumentKind) -> str:
        """Why a document of ``kind`` may have come out empty."""
        if kind in IMAGE_KINDS:
            return ": OCR found none in it"
        if kind is not DocumentKind.PDF or self._strategy != "fast":
            return ""
        if self._ocr is None:
            return " (a scanned PDF needs OCR: ingestion.parsing.ocr.enabled)"
        return ": no text layer, and OCR found none on its scanned pages"

    def _text_partitioner(self, kind: DocumentKind) -> Callable[[Path, str], list[Any]]:
        """The unstructured partitioner of ``kind`` (of a PDF: its text layer)."""
        if kind is DocumentKind.PDF and self._pdfium:
            return lambda path, filename: pdfium_partition(
                path, filename, max_pages=self._max_pages
            )
        module, name = _PARTITIONERS[kind]
        partition: Callable[..., Any] = getattr(importlib.import_module(module), name)
        options: dict[str, Any] = {"languages": self._languages}
        if kind is DocumentKind.PDF:
            options["strategy"] = self._strategy
        return lambda path, _filename: list(partition(filename=str(path), **options))

    @staticmethod
    def _elements(raw: list[Any], *, positional_furniture: bool) -> list[Element]:
        """Elements worth indexing, with their sections.

        DOCX headers and footers are declared as such and always dropped; a PDF's are
        guessed from their position, so only the running ones are (``_furniture``), and a
        kept header may open a section like a title.
        """
        running: set[str] | None = None
        if positional_furniture:
            running = running_furniture(
                (_text(item), _page(item))
                for item in raw
                if _category(item) in FURNITURE_CATEGORIES
            )
        sections = SectionTracker()
        elements: list[Element] = []
        for item in raw:
            category = _category(item)
            text = _text(item)
            if not text or category in _SKIPPED_CATEGORIES:
                continue
            if category in FURNITURE_CATEGORIES and (
                running is None or furniture_key(text) in running
            ):
                continue
            titled = category == "Title" or (category == "Header" and running is not None)
            heading = titled and looks_like_heading(text)
            if heading:
                depth = getattr(getattr(item, "metadata", None), "category_depth", None)
                sections.heading(text, depth if isinstance(depth, int) else 0)
            elements.append(
                Element(
                    text=text,
                    kind=category,
                    page_number=_page(item),
                    section=sections.current,
                    is_heading=heading,
                    ocr_confidence=_ocr_confidence(item),
                )
            )
        return elements


def _category(item: Any) -> str:
    return str(getattr(item, "category", type(item).__name__))


def _text(item: Any) -> str:
    return str(getattr(item, "text", "") or "").strip()


def _page(item: Any) -> int | None:
    page = getattr(getattr(item, "metadata", None), "page_number", None)
    return page if isinstance(page, int) else None


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _ocr_confidence(item: Any) -> float | None:
    confidence = getattr(getattr(item, "metadata", None), "ocr_confidence", None)
    return float(confidence) if isinstance(confidence, int | float) else None
