"""The OCR step of parsing with the real Tesseract: scanned PDF pages and images become
elements with their page numbers and word confidence; born-digital pages are left alone;
a missing Tesseract or language, a slow page and a blank scan fail with a clear reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from configs import SettingsError, load_settings
from ingestion.chunking import ChunkingStrategy, TokenChunker
from ingestion.errors import DocumentRejectedError
from ingestion.parsing import Element, UnstructuredParser, build_parser
from ingestion.parsing._ocr import OcrReader
from ingestion.parsing._tesseract import Tesseract
from tests.ingestion.ocr.scans import (
    DPI,
    blank_scan_pdf,
    image_bytes,
    mixed_pdf,
    scan_image,
    scanned_pdf,
    tiff_pages,
)
from tests.support.documents import make_pdf

FIRST = "The harbour crane lifted forty copper crates"
SECOND = "Invoice seventeen was paid in full on Tuesday"


def ocr_parser(
    *,
    languages: tuple[str, ...] = ("eng",),
    page_time_limit_s: float = 60.0,
    binary: str = "tesseract",
) -> UnstructuredParser:
    tesseract = Tesseract(languages=languages, page_time_limit_s=page_time_limit_s, binary=binary)
    return UnstructuredParser(max_pages=5, ocr=OcrReader(tesseract))


def parse(parser: UnstructuredParser, tmp_path: Path, name: str, data: bytes) -> list[Element]:
    path = tmp_path / name
    path.write_bytes(data)
    return parser.parse(path, filename=name)


def text_of(elements: list[Element], page: int) -> str:
    return " ".join(e.text for e in elements if e.page_number == page)


def test_a_scanned_pdf_is_read_page_by_page_with_confidence(tmp_path: Path) -> None:
    elements = parse(ocr_parser(), tmp_path, "scan.pdf", scanned_pdf([[FIRST], [SECOND]]))
    assert FIRST in text_of(elements, 1)
    assert SECOND in text_of(elements, 2)
    assert {e.page_number for e in elements} == {1, 2}
    confidences = [e.ocr_confidence for e in elements]
    assert all(c is not None and 60 <= c <= 100 for c in confidences), confidences


def test_only_pages_without_a_text_layer_are_ocred(tmp_path: Path) -> None:
    data = mixed_pdf(
        make_pdf([["A born digital page about glaciers and moraines."]]), scanned_pdf([[SECOND]])
    )
    elements = parse(ocr_parser(), tmp_path, "mixed.pdf", data)
    digital = [e for e in elements if e.page_number == 1]
    scanned = [e for e in elements if e.page_number == 2]
    assert digital
    assert all(e.ocr_confidence is None for e in digital)
    assert "glaciers" in text_of(elements, 1)
    assert SECOND in text_of(elements, 2)
    assert scanned
    assert all(e.ocr_confidence is not None for e in scanned)


@pytest.mark.parametrize(
    ("name", "fmt"), [("note.png", "PNG"), ("note.jpg", "JPEG"), ("note.webp", "WEBP")]
)
def test_an_image_is_read_as_one_page(tmp_path: Path, name: str, fmt: str) -> None:
    elements = parse(ocr_parser(), tmp_path, name, image_bytes([FIRST], fmt))
    assert FIRST in text_of(elements, 1)
    assert all(e.ocr_confidence is not None for e in elements)


def test_each_page_of_a_tiff_is_read(tmp_path: Path) -> None:
    elements = parse(ocr_parser(), tmp_path, "fax.tiff", tiff_pages([[FIRST], [SECOND]]))
    assert FIRST in text_of(elements, 1)
    assert SECOND in text_of(elements, 2)


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [(40_000, 150, "PNG"), (7_000, 6_000, "PNG"), (30_000, 150, "PDF")],
    ids=str,
)
def test_a_page_beyond_tesseracts_limits_is_read_scaled_down(
    tmp_path: Path, width: int, height: int, fmt: str
) -> None:
    # 40,000 wide: over Tesseract's 32,767; 42 M pixels: over the 40 M a page is read with; a
    # PDF page 150 inches wide (30,000 pixels at 200 dpi) renders 45,000 wide at OCR's 300 dpi
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(scan_image([FIRST], size=44), (0, 0))
    out = io.BytesIO()
    canvas.save(out, format=fmt, **({"resolution": DPI} if fmt == "PDF" else {}))
    elements = parse(ocr_parser(), tmp_path, f"poster.{fmt.lower()}", out.getvalue())
    assert FIRST in text_of(elements, 1)


def test_chunks_carry_the_page_and_the_mean_confidence(tmp_path: Path) -> None:
    elements = parse(ocr_parser(), tmp_path, "scan.pdf", scanned_pdf([[FIRST], [SECOND]]))
    chunks = TokenChunker().chunk(elements, ChunkingStrategy(200, 40))
    assert [c.page_number for c in chunks] == [1, 2]
    for chunk in chunks:
        own = [e.ocr_confidence for e in elements if e.page_number == chunk.page_number]
        assert chunk.ocr_confidence is not None
        assert min(c for c in own if c is not None) <= chunk.ocr_confidence <= 100


def test_a_blank_scan_contains_no_text(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        parse(ocr_parser(), tmp_path, "blank.pdf", blank_scan_pdf())
    assert caught.value.code == "invalid_file"
    assert caught.value.message == (
        "'blank.pdf' contains no text: no text layer, and OCR found none on its scanned pages"
    )


def test_a_missing_tesseract_names_the_package(tmp_path: Path) -> None:
    parser = ocr_parser(binary="tesseract-not-installed", languages=("eng", "deu"))
    with pytest.raises(DocumentRejectedError) as caught:
        parse(parser, tmp_path, "scan.pdf", scanned_pdf([[FIRST]]))
    assert caught.value.code == "server_error"
    assert "tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu" in caught.value.message


def test_a_missing_language_names_its_package(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        parse(ocr_parser(languages=("eng", "xyz")), tmp_path, "n.png", image_bytes([FIRST], "PNG"))
    assert caught.value.code == "server_error"
    assert "xyz" in caught.value.message
    assert "tesseract-ocr-xyz" in caught.value.message


def test_a_page_over_its_time_limit_fails_the_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        parse(ocr_parser(page_time_limit_s=0.01), tmp_path, "scan.pdf", scanned_pdf([[FIRST]]))
    assert caught.value.code == "invalid_file"
    assert "'scan.pdf' page 1: OCR took longer than 0.01 s" in caught.value.message


def test_without_ocr_images_are_unsupported_and_scans_say_why(tmp_path: Path) -> None:
    parser = UnstructuredParser(max_pages=5)
    with pytest.raises(DocumentRejectedError) as caught:
        parse(parser, tmp_path, "n.png", image_bytes([FIRST], "PNG"))
    assert caught.value.code == "unsupported_file"
    assert "ingestion.parsing.ocr.enabled" in caught.value.message
    with pytest.raises(DocumentRejectedError) as caught:
        parse(parser, tmp_path, "scan.pdf", scanned_pdf([[FIRST]]))
    assert "a scanned PDF needs OCR" in caught.value.message


def test_an_image_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        parse(ocr_parser(), tmp_path, "fake.png", b"GIF89a not a png at all")
    assert caught.value.code == "invalid_file"
    assert "is not a valid PNG image" in caught.value.message


def test_ocr_settings_are_typed_and_reach_the_parser() -> None:
    env = {
        "RAGWAY_CONFIG": "",
        "RAGWAY_INGESTION__PARSING__PROCESSES": "0",
        "RAGWAY_INGESTION__PARSING__OCR__LANGUAGES": '["eng", "deu"]',
        "RAGWAY_INGESTION__PARSING__OCR__DPI": "200",
    }
    settings = load_settings(config_files=[], env=env)
    ocr = settings.ingestion.parsing.ocr
    assert (ocr.enabled, ocr.languages, ocr.dpi) == (True, ("eng", "deu"), 200)
    assert isinstance(build_parser(settings.ingestion.parsing), UnstructuredParser)
    with pytest.raises(SettingsError, match="Tesseract language code"):
        load_settings(
            config_files=[], env={**env, "RAGWAY_INGESTION__PARSING__OCR__LANGUAGES": '["e n"]'}
        )
