"""unstructured parsing of every supported type, offline: text, pages, sections, rejections.

What a PDF must give holds for both of its text engines (``pdf_parser``): PDFium, the
default, and unstructured's own partition_pdf (pdfminer).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Literal

import pytest

from configs import LoggingSettings
from ingestion.errors import DocumentRejectedError
from ingestion.parsing import Cancelled, Element, ProcessParser, UnstructuredParser
from tests.ingestion._pdfs import laid_out_pdf
from tests.support.documents import SAMPLE_KINDS, make_document, make_pdf

PdfEngine = Literal["pdfium", "pdfminer"]
MARKER = "The zirconium reactor ran at 451 kelvin on Tuesday."


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser(strategy="fast", max_pages=3)


@pytest.fixture(scope="module", params=["pdfium", "pdfminer"])
def pdf_parser(request: pytest.FixtureRequest) -> UnstructuredParser:
    return UnstructuredParser(strategy="fast", max_pages=3, pdf_engine=request.param)


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


@pytest.mark.parametrize(
    ("kind", "engine"), [("pdf", "pdfium"), ("pdf", "pdfminer"), ("pptx", "pdfium")]
)
def test_page_numbers_are_kept(tmp_path: Path, kind: str, engine: PdfEngine) -> None:
    parser = UnstructuredParser(strategy="fast", max_pages=3, pdf_engine=engine)
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(make_document(kind, MARKER))
    elements = parser.parse(path, filename=path.name)
    assert next(e for e in elements if "zirconium" in e.text).page_number == 2
    assert next(e for e in elements if "General background" in e.text).page_number == 1


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("tool.exe", b"MZ\x90\x00", "unsupported_file", "unsupported file type .exe"),
        ("fake.pdf", b"hello, not a pdf", "invalid_file", "not a PDF"),
        ("broken.docx", b"PK\x03\x04garbage", "invalid_file", "could not be parsed as docx"),
        ("blank.txt", b"  \n\n ", "invalid_file", "contains no text"),
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


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "is a corrupt PDF"),
        ("cut.pdf", make_pdf([["Half a document."]])[:200], "is a corrupt PDF"),
        ("locked.pdf", make_pdf([["secret"]], encrypt_dict=True), "is encrypted"),
        ("long.pdf", make_pdf([[f"page {n}"] for n in range(4)]), "has 4 pages; the limit is 3"),
        ("blank.pdf", make_pdf([[], []]), "contains no text (a scanned PDF needs"),
    ],
)
def test_bad_pdfs_are_rejected_with_a_reason(
    pdf_parser: UnstructuredParser, tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentRejectedError) as caught:
        pdf_parser.parse(path, filename=name)
    assert caught.value.code == "invalid_file"
    assert caught.value.message.startswith(f"{name!r} {words}")


def placed_pdf(pages: list[list[tuple[int, str]]]) -> bytes:
    """A PDF whose lines sit where told: (height above the bottom edge in points, text)."""
    return laid_out_pdf([[(72, y, 11, text) for y, text in lines] for lines in pages])


@pytest.mark.parametrize("height", [770, 740, 400, 20])
def test_a_pdf_of_one_short_line_yields_that_line(
    pdf_parser: UnstructuredParser, tmp_path: Path, height: int
) -> None:
    # unstructured calls a line in the top or bottom 7% of a page a Header / Footer by its
    # position alone; such a line must still count as the document's text.
    path = tmp_path / "one-line.pdf"
    path.write_bytes(placed_pdf([[(height, "Invoice 42")]]))
    elements = pdf_parser.parse(path, filename=path.name)
    assert [(e.text, e.page_number) for e in elements] == [("Invoice 42", 1)]


def test_the_first_line_of_each_pdf_page_is_kept(
    pdf_parser: UnstructuredParser, tmp_path: Path
) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_document("pdf", MARKER))
    text = " ".join(e.text for e in pdf_parser.parse(path, filename=path.name))
    assert "Overview" in text
    assert "Findings" in text


def test_running_headers_and_page_numbers_are_dropped(
    pdf_parser: UnstructuredParser, tmp_path: Path
) -> None:
    pages = [
        [
            (770, "ACME Annual Report"),
            (700, f"Chapter {n}"),
            (400, f"Body text of page {n} about glaciers."),
            (20, f"Page {n} of 3"),
        ]
        for n in (1, 2, 3)
    ]
    pages[1][0] = (770, "ACME  annual report")  # spacing and case vary, still the same
    path = tmp_path / "report.pdf"
    path.write_bytes(placed_pdf(pages))
    texts = [e.text for e in pdf_parser.parse(path, filename=path.name)]
    assert not [t for t in texts if "ACME" in t or "annual" in t]
    assert not [t for t in texts if t.startswith("Page ")]
    assert [t for t in texts if t.startswith("Body text")] == [
        f"Body text of page {n} about glaciers." for n in (1, 2, 3)
    ]
    assert [t for t in texts if t.startswith("Chapter")] == ["Chapter 1", "Chapter 2", "Chapter 3"]


def test_a_child_process_parses_alike_and_rejects_alike(tmp_path: Path) -> None:
    inline = UnstructuredParser(strategy="fast", max_pages=3)
    child = ProcessParser(inline, processes=1)
    try:
        path = tmp_path / "doc.pdf"
        path.write_bytes(make_document("pdf", MARKER))
        assert child.parse(path, filename=path.name) == inline.parse(path, filename=path.name)
        broken = tmp_path / "broken.pdf"
        broken.write_bytes(b"%PDF-1.4\n1 0 obj garbage")
        with pytest.raises(DocumentRejectedError) as caught:
            child.parse(broken, filename=broken.name)
        assert caught.value.code == "invalid_file"
        assert "corrupt PDF" in caught.value.message
    finally:
        child.close()


class _WarningParser:
    """A parser whose library warns (as pdfminer and unstructured do), in the child."""

    def prepare(self) -> None:
        pass

    def parse(
        self, path: Path, *, filename: str, cancelled: Cancelled | None = None
    ) -> list[Element]:
        warnings.warn("a parsing library complains", UserWarning, stacklevel=1)
        return []


def test_a_child_process_logs_library_warnings_as_json(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    child = ProcessParser(_WarningParser(), processes=1, log_settings=LoggingSettings())
    try:
        assert child.parse(tmp_path / "a.txt", filename="a.txt") == []
    finally:
        child.close()
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.strip()]
    [warning] = [line for line in lines if line["logger"] == "py.warnings"]
    assert warning["process"] == "parser"
    assert "a parsing library complains" in str(warning["msg"])
