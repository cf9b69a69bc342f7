"""Scans made by the tests: text drawn into images with Pillow, and PDFs of such images with
no text layer (Pillow's own PDF writer puts in the image and nothing else)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

__all__ = ["blank_scan_pdf", "image_bytes", "mixed_pdf", "scan_image", "scanned_pdf", "tiff_pages"]

DPI = 200


def scan_image(lines: Sequence[str], *, width: int = 1400, size: int = 34) -> Image.Image:
    """A white page with ``lines`` in black, as a scanner at 200 dpi would give them."""
    font = ImageFont.load_default(size=size)
    height = 80 + len(lines) * size * 2
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((60, 40 + n * size * 2), line, fill=0, font=font)
    return image


def scanned_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF of one scanned image a page and no text layer."""
    images = [scan_image(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()


def blank_scan_pdf() -> bytes:
    """A scan of an empty white page."""
    out = io.BytesIO()
    Image.new("L", (1200, 1600), 255).save(out, format="PDF", resolution=DPI)
    return out.getvalue()


def mixed_pdf(text_page: bytes, scan: bytes) -> bytes:
    """The pages of ``text_page`` (a PDF with a text layer) followed by those of ``scan``."""
    writer = PdfWriter()
    for data in (text_page, scan):
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(lines: Sequence[str], fmt: str) -> bytes:
    out = io.BytesIO()
    image = scan_image(lines)
    (image.convert("RGB") if fmt == "JPEG" else image).save(out, format=fmt)
    return out.getvalue()


def tiff_pages(pages: Sequence[Sequence[str]]) -> bytes:
    """A multi-page TIFF, one scan a page."""
    images = [scan_image(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="TIFF", save_all=True, append_images=images[1:], dpi=(DPI, DPI))
    return out.getvalue()
