"""The parsing stage's interface, its element type and the document kinds ragway reads."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Protocol

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._languages import CODE_LANGUAGES

__all__ = ["ZIP_KINDS", "Cancelled", "DocumentKind", "Element", "Parser", "detect_kind"]

Cancelled = Callable[[], bool]
"""Asked now and then during a long stage: True when the file is no longer wanted."""


class DocumentKind(enum.StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    HTML = "html"
    MARKDOWN = "md"
    TEXT = "txt"
    CSV = "csv"
    EML = "eml"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    WEBP = "webp"
    MSG = "msg"
    XLSX = "xlsx"
    ODS = "ods"
    ODT = "odt"
    EPUB = "epub"
    RTF = "rtf"
    JSON = "json"
    JSONL = "jsonl"
    CODE = "code"


_EXTENSIONS = {
    ".pdf": DocumentKind.PDF,
    ".docx": DocumentKind.DOCX,
    ".pptx": DocumentKind.PPTX,
    ".html": DocumentKind.HTML,
    ".htm": DocumentKind.HTML,
    ".md": DocumentKind.MARKDOWN,
    ".markdown": DocumentKind.MARKDOWN,
    ".txt": DocumentKind.TEXT,
    ".text": DocumentKind.TEXT,
    ".csv": DocumentKind.CSV,
    ".eml": DocumentKind.EML,
    ".png": DocumentKind.PNG,
    ".jpg": DocumentKind.JPEG,
    ".jpeg": DocumentKind.JPEG,
    ".tif": DocumentKind.TIFF,
    ".tiff": DocumentKind.TIFF,
    ".webp": DocumentKind.WEBP,
    ".msg": DocumentKind.MSG,
    ".xlsx": DocumentKind.XLSX,
    ".ods": DocumentKind.ODS,
    ".odt": DocumentKind.ODT,
    ".epub": DocumentKind.EPUB,
    ".rtf": DocumentKind.RTF,
    ".json": DocumentKind.JSON,
    ".jsonl": DocumentKind.JSONL,
    ".ndjson": DocumentKind.JSONL,
    **dict.fromkeys(CODE_LANGUAGES, DocumentKind.CODE),
}
SUPPORTED_EXTENSIONS = tuple(sorted(_EXTENSIONS))
IMAGE_KINDS = frozenset({DocumentKind.PNG, DocumentKind.JPEG, DocumentKind.TIFF, DocumentKind.WEBP})
"""Kinds read by OCR alone."""
_IMAGE_MAGIC = {
    DocumentKind.PNG: (b"\x89PNG\r\n\x1a\n",),
    DocumentKind.JPEG: (b"\xff\xd8\xff",),
    DocumentKind.TIFF: (b"II*\x00", b"MM\x00*"),
}
ZIP_KINDS = frozenset(
    {
        DocumentKind.DOCX,
        DocumentKind.PPTX,
        DocumentKind.XLSX,
        DocumentKind.ODS,
        DocumentKind.ODT,
        DocumentKind.EPUB,
    }
)
"""Kinds that are zip packages (checked for zip bombs before they are read)."""
_BINARY_KINDS = ZIP_KINDS | {DocumentKind.PDF, DocumentKind.MSG}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True, slots=True)
class Element:
    """One piece of a document's text, in reading order.

    ``kind`` is unstructured's category (Title, NarrativeText, Table, ...); ``section`` the
    heading path the element sits under ("Intro > Scope"), None before the first heading.
    ``ocr_confidence`` is set on text read by OCR: the mean confidence (0-100) Tesseract gave
    its words.
    ``header`` is repeated at the top of every chunk made from the element (a spreadsheet's
    header row), so each chunk of a table says what its columns are.
    """

    text: str
    kind: str
    page_number: int | None = None
    section: str | None = None
    is_heading: bool = False
    ocr_confidence: float | None = None
    header: str | None = None


class Parser(Protocol):
    """Reads one document. Bad documents raise ``DocumentRejectedError``; never retried.

    A parser that can stop part-way asks ``cancelled`` now and then and raises
    ``WorkCancelledError`` when it says True; one that cannot ignores it.
    """

    def prepare(self) -> None:
        """Import what parsing needs, so that no document's time limit pays for it."""

    def parse(
        self, path: Path, *, filename: str, cancelled: Cancelled | None = None
    ) -> list[Element]: ...


def detect_kind(filename: str, head: bytes) -> DocumentKind:
    """The document kind from the file name, checked against the first bytes where cheap."""
    suffix = PurePath(filename).suffix.lower()
    kind = _EXTENSIONS.get(suffix)
    if kind is None:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise DocumentRejectedError(
            "unsupported_file",
            f"{filename!r}: unsupported file type {suffix or '(no extension)'}; "
            f"supported: {supported}",
        )
    if kind is DocumentKind.PDF and not head.lstrip()[:5].startswith(b"%PDF-"):
        raise DocumentRejectedError("invalid_file", f"{filename!r} is not a PDF (no %PDF header)")
    if kind in IMAGE_KINDS:
        return _image_kind(filename, head, kind)
    if kind in ZIP_KINDS and not head.startswith(b"PK\x03\x04"):
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not a valid {kind.value.upper()} (not a zip package)"
        )
    if kind is DocumentKind.MSG and not head.startswith(_OLE_MAGIC):
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not an Outlook MSG file (no OLE header)"
        )
    if kind is DocumentKind.RTF and not head.lstrip()[:5].startswith(b"{\\rtf"):
        raise DocumentRejectedError("invalid_file", f"{filename!r} is not RTF (no {{\\rtf header)")
    if kind not in _BINARY_KINDS and b"\x00" in head:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} has binary content; expected {kind.value} text"
        )
    return kind


def _image_kind(filename: str, head: bytes, kind: DocumentKind) -> DocumentKind:
    """``kind`` if the first bytes are that image format's signature."""
    if kind is DocumentKind.WEBP:
        valid = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    else:
        valid = head.startswith(_IMAGE_MAGIC[kind])
    if not valid:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not a valid {kind.value.upper()} image"
        )
    return kind
