"""Scanned pages for the ingestion benchmark: a corpus with every fifth page a scan, and OCR's
own throughput on such pages.

A scanned page is the benchmark's page of text (the same generator, about 540 words) drawn
black on white by Pillow at 200 dpi on a US-letter sheet and wrapped as a PDF page with no
text layer, as a scanner's PDF is; the worker renders it again at ``ocr.dpi`` and reads it
with Tesseract.
"""

from __future__ import annotations

import io
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from tests.support.documents import make_pdf

__all__ = ["SCANNED_EVERY", "ocr_throughput", "scanned_corpus"]

SCANNED_EVERY = 5  # every fifth page is a scan: 20% of the corpus
_DPI = 200
_SIZE = (1700, 2200)  # 8.5 x 11 in at 200 dpi

PageMaker = Callable[[random.Random, int], list[str]]


def scan_page(lines: list[str]) -> bytes:
    """One page of ``lines`` as an image-only PDF."""
    font = ImageFont.load_default(size=26)
    image = Image.new("L", _SIZE, 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((120, 120 + n * 42), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=_DPI)
    return out.getvalue()


def scanned_corpus(
    page: PageMaker, pages: int, seed: int, *, per_file: int
) -> list[tuple[str, bytes]]:
    """PDFs of ``per_file`` pages, every ``SCANNED_EVERY``-th page of the corpus a scan."""
    rng = random.Random(seed)
    files: list[tuple[str, bytes]] = []
    for start in range(0, pages, per_file):
        writer = PdfWriter()
        for number in range(start, min(pages, start + per_file)):
            lines = page(rng, number)
            data = (
                scan_page(lines)
                if number % SCANNED_EVERY == SCANNED_EVERY - 1
                else make_pdf([lines])
            )
            for part in PdfReader(io.BytesIO(data)).pages:
                writer.add_page(part)
        out = io.BytesIO()
        writer.write(out)
        files.append((f"scan{start}.pdf", out.getvalue()))
    return files


def ocr_throughput(page: PageMaker, pages: int) -> tuple[float, float, int]:
    """(pages a second, CPU seconds a page, elements) of parsing ``pages`` one-page scans in
    this process as a worker's parse child does (PDFium renders, Tesseract reads), after a
    warm-up page. CPU counts Tesseract's processes too."""
    from ingestion.parsing import UnstructuredParser
    from ingestion.parsing._ocr import OcrReader
    from ingestion.parsing._tesseract import Tesseract

    parser = UnstructuredParser(ocr=OcrReader(Tesseract()))
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number in range(pages + 1):
            paths.append(Path(folder) / f"page{number}.pdf")
            paths[-1].write_bytes(scan_page(page(rng, number)))
        parser.parse(paths[0], filename=paths[0].name)
        before, started = _cpu(), time.perf_counter()
        elements = sum(len(parser.parse(p, filename=p.name)) for p in paths[1:])
        wall, cpu = time.perf_counter() - started, _cpu() - before
    return pages / wall, cpu / pages, elements


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
