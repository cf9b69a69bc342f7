"""Build the configured parser: the one place the parsing ``kind`` discriminator is read."""

from __future__ import annotations

from typing import assert_never

from configs import LoggingSettings, OcrSettings, ParsingSettings, UnstructuredParsingSettings
from ingestion.parsing._base import Parser
from ingestion.parsing._mail import AttachmentLimits
from ingestion.parsing._ocr import OcrReader
from ingestion.parsing._process import ParseLimits, ProcessParser
from ingestion.parsing._tesseract import Tesseract
from ingestion.parsing._unstructured import UnstructuredParser

__all__ = ["build_parser", "missing_system_packages"]


def build_parser(
    settings: ParsingSettings, *, log_settings: LoggingSettings | None = None
) -> Parser:
    """The parser ``settings.kind`` names, run in ``settings.processes`` child processes under
    the time and memory limits (0: in the caller's threads, without them)."""
    parser: Parser
    match settings:
        case UnstructuredParsingSettings():
            parser = UnstructuredParser(
                strategy=settings.strategy,
                pdf_engine=settings.pdf_engine,
                attachments=AttachmentLimits(
                    max_depth=settings.max_attachment_depth,
                    max_count=settings.max_attachments,
                    max_total_bytes=settings.max_attachment_bytes,
                ),
                max_pages=settings.max_pages,
                languages=settings.languages,
                max_expanded_bytes=settings.max_expanded_bytes,
                ocr=_ocr_reader(settings.ocr),
            )
        case _:
            assert_never(settings)
    if settings.processes == 0:
        return parser
    return ProcessParser(
        parser,
        processes=settings.processes,
        limits=ParseLimits(
            time_limit_s=settings.time_limit_s, memory_limit_bytes=settings.memory_limit_bytes
        ),
        log_settings=log_settings,
    )


def missing_system_packages(settings: ParsingSettings) -> list[str]:
    """The Debian packages this host lacks for parsing as configured: with OCR on, Tesseract
    and the data of each of its languages (``ragway config system-packages``)."""
    if not settings.ocr.enabled:
        return []
    return _tesseract(settings.ocr).missing_packages()


def _ocr_reader(settings: OcrSettings) -> OcrReader | None:
    if not settings.enabled:
        return None
    return OcrReader(_tesseract(settings), min_text_chars=settings.min_text_chars)


def _tesseract(settings: OcrSettings) -> Tesseract:
    return Tesseract(
        languages=settings.languages,
        dpi=settings.dpi,
        page_time_limit_s=settings.page_time_limit_s,
    )
