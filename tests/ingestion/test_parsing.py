"""unstructured parsing of every supported type, offline: text, pages, sections, rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.errors import DocumentRejectedError
from ingestion.parsing import UnstructuredParser
from tests.support.documents import SAMPLE_KINDS, make_document, make_pdf

MARKER = "The zirconium reactor ran at 451 kelvin on Tuesday."


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser(strategy="fast", max_pages=3)


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_every_supported_type_yields_its_text(
    parser: UnstructuredParser, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(make_document(kind, MARKER))
    elements = parser.parse(path, filename=path.name)
    text = " ".join(e.text for e in elements)
    assert "zirconium reactor" in text
    assert "General background" in text


@pytest.mark.parametrize(("kind", "section"), [("docx", "Findings"), ("md", "Overview > Findings")])
def test_section_titles_follow_headings(
    parser: UnstructuredParser, tmp_path: Path, kind: str, section: str
) -> None:
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(make_document(kind, MARKER))
    marker = next(e for e in parser.parse(path, filename=path.name) if "zirconium" in e.text)
    assert marker.section == section


@pytest.mark.parametrize("kind", ["pdf", "pptx"])
def test_page_numbers_are_kept(parser: UnstructuredParser, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(make_document(kind, MARKER))
    elements = parser.parse(path, filename=path.name)
    assert next(e for e in elements if "zirconium" in e.text).page_number == 2
    assert next(e for e in elements if "General background" in e.text).page_number == 1


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("tool.exe", b"MZ\x90\x00", "unsupported_file", "unsupported file type .exe"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "invalid_file", "corrupt PDF"),
        ("fake.pdf", b"hello, not a pdf", "invalid_file", "not a PDF"),
        ("locked.pdf", make_pdf([["secret"]], encrypt_dict=True), "invalid_file", "encrypted"),
        ("broken.docx", b"PK\x03\x04garbage", "invalid_file", "could not be parsed as docx"),
        ("blank.txt", b"  \n\n ", "invalid_file", "contains no text"),
        ("long.pdf", make_pdf([[f"page {n}"] for n in range(4)]), "invalid_file", "4 pages"),
    ],
)
def test_bad_documents_are_rejected_with_a_reason(
    parser: UnstructuredParser, tmp_path: Path, name: str, content: bytes, code: str, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentRejectedError) as caught:
        parser.parse(path, filename=name)
    assert caught.value.code == code
    assert words in caught.value.message
