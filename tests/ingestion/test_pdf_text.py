"""PDF text through PDFium (the default for strategy fast) against unstructured's partition_pdf.

The PDFium path must give what partition_pdf gives (texts in reading order, pages, sections,
headings, furniture dropped) for a fraction of its CPU; where they differ on purpose (a word
broken at a line end) the test says so.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import pytest
from pypdf import PdfReader, PdfWriter

from configs import load_settings
from ingestion.errors import DocumentRejectedError
from ingestion.parsing import Element, UnstructuredParser
from tests.ingestion._pdfs import Run, laid_out_pdf
from tests.support.documents import make_pdf

Engine = Literal["pdfium", "pdfminer"]
ENGINES: list[Engine] = ["pdfium", "pdfminer"]


def paragraph(x: float, top: float, lines: list[str], *, size: float = 11) -> list[Run]:
    return [(x, top - 14 * n, size, line) for n, line in enumerate(lines)]


def report() -> list[list[Run]]:
    """Three pages: a running header and page footers, headings, paragraphs, a list."""
    pages: list[list[Run]] = []
    for number, (title, topic) in enumerate(
        [("Field Methods", "glacier"), ("Sediment Cores", "lake"), ("Results", "river")], start=1
    ):
        page: list[Run] = [(72, 765, 9, "Northern Valley Survey 2024"), (72, 700, 16, title)]
        page += paragraph(
            72,
            670,
            [
                f"The {topic} survey of the northern valley began in early spring",
                "when the snow line had retreated to the upper moraine and the",
                f"meltwater river ran high for most of page {number}.",
            ],
        )
        page.append((72, 600, 13, f"{title} in detail"))
        page += paragraph(
            72,
            575,
            [
                "Sediment cores from the lake bed show seven distinct layers of",
                "silt laid down over four thousand years of slow deposition.",
            ],
        )
        page += [(72, 520, 11, "• Measure the retreat of the ice front"), (72, 490, 11, "• Sample")]
        page.append((290, 30, 9, f"Page {number} of 3"))
        pages.append(page)
    return pages


def view(elements: list[Element]) -> list[tuple[str, int | None, str | None, bool, str]]:
    return [(e.text, e.page_number, e.section, e.is_heading, e.kind) for e in elements]


def parse(path: Path, engine: Engine | None = None) -> list[Element]:
    """With the default engine unless ``engine`` is given."""
    parser = UnstructuredParser(max_pages=10)
    if engine is not None:
        parser = UnstructuredParser(max_pages=10, pdf_engine=engine)
    return parser.parse(path, filename=path.name)


def test_the_default_reads_a_report_as_partition_pdf_does(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(laid_out_pdf(report()))
    default = parse(path)
    assert view(default) == view(parse(path, "pdfminer"))
    texts = [e.text for e in default]
    assert not [t for t in texts if "Northern Valley Survey" in t or t.startswith("Page ")]
    assert [(e.text, e.page_number, e.section) for e in default if e.is_heading] == [
        ("Field Methods", 1, "Field Methods"),
        ("Field Methods in detail", 1, "Field Methods in detail"),
        ("Sediment Cores", 2, "Sediment Cores"),
        ("Sediment Cores in detail", 2, "Sediment Cores in detail"),
        ("Results", 3, "Results"),
        ("Results in detail", 3, "Results in detail"),
    ]
    first = default[1]
    assert first.text == (
        "The glacier survey of the northern valley began in early spring when the snow "
        "line had retreated to the upper moraine and the meltwater river ran high for most "
        "of page 1."
    )
    assert (first.page_number, first.section) == (1, "Field Methods")
    assert ("Measure the retreat of the ice front", "ListItem") in [
        (e.text, e.kind) for e in default
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_two_columns_drawn_line_by_line_are_read_column_by_column(
    tmp_path: Path, engine: Engine
) -> None:
    left = paragraph(
        72, 670, ["The left column opens here and", "it goes on for three lines", "to end here."]
    )
    right = paragraph(320, 670, ["The right column starts beside", "it and closes after two."])
    interleaved = [run for pair in zip(left, right, strict=False) for run in pair] + left[2:]
    path = tmp_path / "columns.pdf"
    path.write_bytes(laid_out_pdf([[(72, 700, 16, "Two Columns"), *interleaved]]))
    assert [e.text for e in parse(path, engine)] == [
        "Two Columns",
        "The left column opens here and it goes on for three lines to end here.",
        "The right column starts beside it and closes after two.",
    ]


def test_paragraphs_are_split_at_wider_gaps_and_kept_in_order(tmp_path: Path) -> None:
    lines = [f"Line {n} of the first paragraph about tides" for n in range(3)]
    page = paragraph(72, 700, lines) + paragraph(72, 640, ["A second paragraph on currents."])
    path = tmp_path / "paragraphs.pdf"
    path.write_bytes(laid_out_pdf([page]))
    assert [e.text for e in parse(path)] == [" ".join(lines), "A second paragraph on currents."]


def test_a_word_broken_at_a_line_end_keeps_its_hyphen_and_loses_the_space(
    tmp_path: Path,
) -> None:
    # PDFium marks the break; partition_pdf would give "hyphen- ation".
    lines = ["Words broken at the end of a line by hyphen-", "ation read as one word again."]
    path = tmp_path / "hyphen.pdf"
    path.write_bytes(laid_out_pdf([paragraph(72, 700, lines)]))
    assert [e.text for e in parse(path)] == [
        "Words broken at the end of a line by hyphen-ation read as one word again."
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_filled_form_fields_are_text(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "form.pdf"
    path.write_bytes(
        laid_out_pdf([[(72, 700, 11, "Applicant name:")]], fields=[("Jane Quartermaine", 72, 650)])
    )
    assert [(e.text, e.page_number) for e in parse(path, engine)] == [
        ("Applicant name:", 1),
        ("Jane Quartermaine", 1),
    ]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("user_password", ["", "open sesame"])
def test_encrypted_pdfs_are_rejected_even_without_a_user_password(
    tmp_path: Path, engine: Engine, user_password: str
) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Hidden text."]]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    with pytest.raises(DocumentRejectedError) as caught:
        parse(path, engine)
    assert caught.value.code == "invalid_file"
    assert caught.value.message == "'locked.pdf' is encrypted; upload it without a password"


def dense_pdf(pages: int) -> bytes:
    """Pages like the ingestion benchmark's: 45 lines of 12 words."""
    line = (
        "Glacier river harbour engine budget contract protein climate market signal glacier river."
    )
    return make_pdf([[f"Chapter {n}", *[line] * 45] for n in range(pages)])


def test_threads_parsing_pdfs_at_once_get_what_one_gets(tmp_path: Path) -> None:
    # PDFium is not thread-safe; a worker parsing in its threads (processes: 0) must not
    # crash it or mix two documents' text.
    paths = []
    for name, data in (("a.pdf", dense_pdf(4)), ("b.pdf", laid_out_pdf(report()))):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    expected = [view(parse(path)) for path in paths]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: view(parse(paths[n % 2])), range(16)))
    assert results == [expected[n % 2] for n in range(16)]


def cpu_seconds(work: Callable[[], object]) -> float:
    """The least CPU time of three runs: robust to other load on the machine."""
    times = []
    for _ in range(3):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times)


def test_the_default_pdf_path_costs_a_fraction_of_partition_pdfs_cpu(tmp_path: Path) -> None:
    path = tmp_path / "dense.pdf"
    path.write_bytes(dense_pdf(10))
    default = UnstructuredParser()
    pdfminer = UnstructuredParser(pdf_engine="pdfminer")
    assert view(default.parse(path, filename=path.name)) == view(
        pdfminer.parse(path, filename=path.name)
    )
    cheap = cpu_seconds(lambda: default.parse(path, filename=path.name))
    costly = cpu_seconds(lambda: pdfminer.parse(path, filename=path.name))
    assert cheap * 5 < costly, f"default {cheap:.3f} s of CPU, partition_pdf {costly:.3f} s"


def test_workers_read_pdfs_with_pdfium_unless_configured_otherwise() -> None:
    assert load_settings(config_files=[], env={}).ingestion.parsing.pdf_engine == "pdfium"
    settings = load_settings(
        config_files=[], env={"RAGWAY_INGESTION__PARSING__PDF_ENGINE": "pdfminer"}
    )
    assert settings.ingestion.parsing.pdf_engine == "pdfminer"
