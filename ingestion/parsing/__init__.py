"""Parsing: documents to text elements with page numbers and section titles (unstructured)."""

from __future__ import annotations

from ingestion.parsing._base import (
    SUPPORTED_EXTENSIONS,
    Cancelled,
    DocumentKind,
    Element,
    Parser,
    detect_kind,
)
from ingestion.parsing._factory import build_parser, missing_system_packages
from ingestion.parsing._process import ParseLimits, ProcessParser
from ingestion.parsing._unstructured import UnstructuredParser

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Cancelled",
    "DocumentKind",
    "Element",
    "ParseLimits",
    "Parser",
    "ProcessParser",
    "UnstructuredParser",
    "build_parser",
    "detect_kind",
    "missing_system_packages",
]
