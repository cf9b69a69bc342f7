"""Parsing: documents to text elements with page numbers and section titles (unstructured)."""

from __future__ import annotations

from ingestion.parsing._base import (
    SUPPORTED_EXTENSIONS,
    DocumentKind,
    Element,
    Parser,
    detect_kind,
)
from ingestion.parsing._process import ProcessParser
from ingestion.parsing._unstructured import UnstructuredParser

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DocumentKind",
    "Element",
    "Parser",
    "ProcessParser",
    "UnstructuredParser",
    "detect_kind",
]
