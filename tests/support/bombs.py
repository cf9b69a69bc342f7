"""Hostile documents built in the test: zip bombs in Office containers, broken PDFs.

A zip bomb here is a real one: one member's deflate stream inflates to ``expanded_bytes``
of well-formed-looking XML, built from one compressed block repeated (full flushes make the
blocks independent), so making a 2 GiB member costs milliseconds and a few MB.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.support.documents import pdf_file

__all__ = ["image_only_pdf", "office_bomb"]

_BLOCK = 1 << 20


def office_bomb(document: bytes, member: str, *, expanded_bytes: int) -> bytes:
    """``document`` (a DOCX or PPTX) with ``member`` replaced by a bomb of ``expanded_bytes``."""
    prefix = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<root>'
    suffix = b"</root>"
    unit = b"<p>bomb</p>"
    middle = unit * (_BLOCK // len(unit))
    repeats = max(1, (expanded_bytes - len(prefix) - len(suffix)) // len(middle))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = compressor.compress(middle) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(suffix) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(repeats):
        crc = zlib.crc32(middle, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + repeats * len(middle) + len(suffix)
    if size >= 1 << 32:
        raise ValueError("keep the bomb under 4 GiB (no zip64 records are written)")
    members: list[tuple[str, int, int, int, bytes]] = []  # name, crc, size, method, data
    with zipfile.ZipFile(io.BytesIO(document)) as original:
        for info in original.infolist():
            if info.filename == member:
                members.append((member, crc, size, 8, head + body * repeats + tail))
            else:
                data = original.read(info)
                members.append((info.filename, zlib.crc32(data), len(data), 0, data))
    if member not in {name for name, *_ in members}:
        raise ValueError(f"{member} is not in the document")
    return _write_zip(members)


def _write_zip(members: list[tuple[str, int, int, int, bytes]]) -> bytes:
    out = bytearray()
    central = bytearray()
    for name, crc, size, method, data in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
        )
        out += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    start = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0
    )
    return bytes(out)


def image_only_pdf() -> bytes:
    """A one-page PDF whose only content is an image (a scan, as far as text goes)."""
    pixels = zlib.compress(bytes(64 * 64))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
    ]
    content = b"q 400 0 0 400 100 200 cm /Im1 Do Q"
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(
        b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (len(pixels), pixels)
    )
    return pdf_file(objects, root=1)
