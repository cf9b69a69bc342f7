"""Settings of OCR: Tesseract reads scanned PDF pages and image uploads."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from configs._strict import Strict

__all__ = ["OcrSettings"]

_LANGUAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class OcrSettings(Strict):
    """Tesseract OCR (Debian: ``tesseract-ocr`` plus ``tesseract-ocr-<lang>`` for each language).

    Used for PDF pages without a usable text layer (strategy ``fast``) and for PNG, JPEG, TIFF
    and WebP uploads. Nothing is downloaded: the languages must be installed on the worker.
    """

    enabled: bool = Field(
        default=True,
        description=(
            "OCR scanned PDF pages and image uploads; false: images are refused as "
            "unsupported_file and scanned PDFs fail as containing no text"
        ),
    )
    languages: tuple[str, ...] = Field(
        default=("eng",),
        min_length=1,
        description=(
            "Tesseract language codes (eng, deu, chi_sim, ...), each installed as Debian's "
            "tesseract-ocr-<code>; several are read together (slower)"
        ),
    )
    dpi: int = Field(
        default=300,
        ge=70,
        le=600,
        description="resolution PDF pages are rendered at for OCR (Tesseract reads best at 300)",
    )
    page_time_limit_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "a page (or image) Tesseract reads longer fails its file as invalid_file; the "
            "file's own limit (ingestion.parsing.time_limit_s) still applies to all its pages"
        ),
    )
    min_text_chars: int = Field(
        default=16,
        ge=0,
        description=(
            "a PDF page whose text layer has fewer non-blank characters is OCRed instead, "
            "if it holds an image or drawing (a blank page is not)"
        ),
    )

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not _LANGUAGE.match(code):
                raise ValueError(f"{code!r} is not a Tesseract language code (e.g. eng, chi_sim)")
        return value
