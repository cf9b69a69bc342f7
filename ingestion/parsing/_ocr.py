"""OCR in the parse: scanned PDF pages and image files read by Tesseract, as unstructured elements.

A PDF page is scanned, as far as ragway is concerned, when its text layer (what the PDF
engine gave) has fewer than ``min_text_chars`` non-blank characters and the page draws
something (an image, a path, a form): such a page is rendered by PDFium at the configured
dpi and read by Tesseract instead, its text-layer elements replaced. A blank page draws
nothing and is not OCRed. Images (PNG, JPEG, TIFF, WebP) are read frame by frame, each frame
a page. Each paragraph Tesseract finds is classified by unstructured's ``element_from_text``
with its box, as the PDFium path classifies a text block, so titles, list items and running
headers come out as they do for born-digital pages; it carries its page number and the mean
confidence of its words (``metadata.ocr_confidence``, 0-100).

Runs in the parse child (``ProcessParser``): a file's OCR is under its time and memory
limits, and each page also under ``page_time_limit_s``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._pdfium import PDFIUM_LOCK
from ingestion.parsing._rejections import corrupt_pdf, encrypted_pdf, too_many_pages
from ingestion.parsing._tesseract import OcrPage, Tesseract

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrReader", "ocr_unavailable"]

# Pixels a page is rendered with at most (an A4 page at 300 dpi has 8.7 M); a larger page is
# rendered, and a larger image read, at a lower resolution rather than needing gigabytes.
_MAX_PIXELS = 40_000_000
_MAX_SIDE = 32_000  # Tesseract refuses an image over 32,767 pixels wide or high


class OcrReader:
    """Reads scanned pages with ``tesseract``; picklable (it travels to the parse child)."""

    def __init__(self, tesseract: Tesseract, *, min_text_chars: int = 16) -> None:
        self._tesseract = tesseract
        self._min_text_chars = min_text_chars

    def scanned_pages(
        self, path: Path, filename: str, raw: list[Any], *, max_pages: int
    ) -> list[Any]:
        """``raw`` (a PDF's elements from its text layer) with each scanned page's elements
        replaced by what OCR reads on it, pages in order."""
        chars: dict[int, int] = {}
        for item in raw:
            page = _page(item)
            if page is not None:
                text = str(getattr(item, "text", "") or "")
                chars[page] = chars.get(page, 0) + sum(not c.isspace() for c in text)

        def thin(number: int) -> bool:
            return chars.get(number, 0) < self._min_text_chars

        read: dict[int, list[Any]] = {}
        pages = _render_pages(path, filename, thin, dpi=self._tesseract.dpi, max_pages=max_pages)
        with contextlib.closing(pages):
            for number, image in pages:
                read[number] = self._elements(image, number, f"{filename!r} page {number}")
        if not read:
            return raw
        merged: list[Any] = []
        done: set[int] = set()
        for item in raw:
            page = _page(item)
            if page in read:
                if page not in done:
                    merged.extend(read[page])
                    done.add(page)
                continue
            merged.append(item)
        for number in sorted(set(read) - done):  # pages whose text layer gave nothing
            merged.extend(read[number])
        merged.sort(key=lambda item: _page(item) or 0)  # stable: each page keeps its order
        return merged

    def image(self, path: Path, filename: str, *, max_pages: int) -> list[Any]:
        """The elements OCR reads in an image file, each frame (a TIFF's pages) a page."""
        from PIL import Image as PILImage
        from PIL import ImageSequence

        elements: list[Any] = []
        with PILImage.open(path) as opened:
            frames = getattr(opened, "n_frames", 1)
            if frames > max_pages:
                raise too_many_pages(filename, frames, max_pages)
            for number, frame in enumerate(ImageSequence.Iterator(opened), start=1):
                what = f"{filename!r}" if frames == 1 else f"{filename!r} page {number}"
                elements.extend(self._elements(_fit(_flat(frame)), number, what))
        return elements

    def _elements(self, image: Image, number: int, what: str) -> list[Any]:
        return _page_elements(self._tesseract.read(image, what=what), number)


def _render_pages(
    path: Path, filename: str, wanted: Callable[[int], bool], *, dpi: int, max_pages: int
) -> Generator[tuple[int, Image], None, None]:
    """(page number, grayscale image) of each page ``wanted`` that draws anything; PDFium is
    held only while a page renders, not while Tesseract reads it."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    with PDFIUM_LOCK:
        try:
            pdf = pypdfium2.PdfDocument(str(path))
        except pypdfium2.PdfiumError as exc:
            if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise encrypted_pdf(filename) from exc
            raise corrupt_pdf(filename, str(exc)) from exc
        count = len(pdf)
    try:
        if count > max_pages:
            raise too_many_pages(filename, count, max_pages)
        for index in range(count):
            if not wanted(index + 1):
                continue
            with PDFIUM_LOCK:
                image = _render(pdf, index, dpi, pdfium_c)
            if image is not None:
                yield index + 1, image
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _render(pdf: Any, index: int, dpi: int, pdfium_c: Any) -> Image | None:
    """The page as a grayscale image, or None if it draws nothing but text (or nothing)."""
    page = pdf[index]
    try:
        drawn = (
            pdfium_c.FPDF_PAGEOBJ_IMAGE,
            pdfium_c.FPDF_PAGEOBJ_PATH,
            pdfium_c.FPDF_PAGEOBJ_SHADING,
            pdfium_c.FPDF_PAGEOBJ_FORM,
        )
        if next(iter(page.get_objects(filter=drawn, max_depth=1)), None) is None:
            return None
        width, height = page.get_size()
        scale = dpi / 72 * _shrink(width * dpi / 72, height * dpi / 72)
        bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=True)
        try:
            image: Image = bitmap.to_pil().convert("L")
        finally:
            bitmap.close()
        return image
    finally:
        page.close()


def _page_elements(ocr: OcrPage, number: int) -> list[Any]:
    """unstructured's elements of the paragraphs OCR found on one page."""
    from unstructured.cleaners.core import clean_extra_whitespace
    from unstructured.documents.coordinates import PixelSpace
    from unstructured.partition.text import element_from_text

    system = PixelSpace(width=ocr.width, height=ocr.height)
    elements = []
    for block in ocr.blocks:
        text = clean_extra_whitespace(block.text)
        if not text:
            continue
        left, top, right, bottom = block.box
        points = ((left, top), (left, bottom), (right, bottom), (right, top))
        element = element_from_text(text, coordinates=points, coordinate_system=system)
        element.metadata.page_number = number
        # An ad-hoc field of unstructured's metadata: read back by the parser's elements.
        setattr(element.metadata, "ocr_confidence", round(block.confidence, 2))  # noqa: B010
        elements.append(element)
    return elements


def _flat(frame: Image) -> Image:
    """A frame Tesseract can read: transparency laid on white, palette and colour to gray."""
    if frame.mode in ("1", "L"):
        return frame.copy()
    from PIL import Image as PILImage

    rgba = frame.convert("RGBA")
    white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
    return PILImage.alpha_composite(white, rgba).convert("L")


def _shrink(width: float, height: float) -> float:
    """The factor (at most 1) that brings ``width`` x ``height`` pixels within ``_MAX_PIXELS``
    and ``_MAX_SIDE``, aspect kept."""
    return min(1.0, math.sqrt(_MAX_PIXELS / (width * height)), _MAX_SIDE / max(width, height))


def _fit(image: Image) -> Image:
    """The image, scaled down to what Tesseract reads (``_shrink``)."""
    width, height = image.size
    scale = _shrink(width, height)
    if scale >= 1.0:
        return image
    from PIL import Image as PILImage

    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0)


def _page(item: Any) -> int | None:
    page = getattr(getattr(item, "metadata", None), "page_number", None)
    return page if isinstance(page, int) else None


def ocr_unavailable(filename: str) -> DocumentRejectedError:
    """An image upload while OCR is off."""
    return DocumentRejectedError(
        "unsupported_file",
        f"{filename!r}: images are read by OCR, which is off (ingestion.parsing.ocr.enabled)",
    )
