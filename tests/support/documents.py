"""Real documents of every supported type, generated in the test (no fixtures on disk).

Each document carries a distinctive ``marker`` sentence, so a search can find its chunk.
"""

from __future__ import annotations

import io
from email.message import EmailMessage

__all__ = ["SAMPLE_KINDS", "make_document", "make_pdf", "pdf_file"]

SAMPLE_KINDS = ("pdf", "docx", "pptx", "html", "md", "txt", "csv", "eml")


def make_pdf(pages: list[list[str]], *, encrypt_dict: bool = False) -> bytes:
    """A minimal valid PDF (Helvetica text, one content stream per page), written by hand."""
    objects: list[bytes] = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b""]
    kids: list[int] = []
    for lines in pages:
        body = [b"BT /F1 11 Tf 14 TL 72 740 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            body.append(f"({escaped}) Tj T*".encode("latin-1"))
        body.append(b"ET")
        stream = b"\n".join(body)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 1 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    catalog = len(objects)
    trailer_extra = b""
    if encrypt_dict:
        objects.append(
            b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"00" * 32, b"00" * 32)
        )
        trailer_extra = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objects), b"ab" * 16, b"ab" * 16)
    return pdf_file(objects, root=catalog, trailer_extra=trailer_extra)


def pdf_file(objects: list[bytes], *, root: int, trailer_extra: bytes = b"") -> bytes:
    """A PDF of ``objects`` (numbered from 1) with its xref table; ``root`` is the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(out)


def make_document(kind: str, marker: str, *, filler: str = "General background text.") -> bytes:
    """A small document of ``kind`` with a heading, filler and the ``marker`` sentence."""
    if kind == "pdf":
        return make_pdf([["Overview", filler], ["Findings", marker]])
    if kind == "docx":
        import docx

        document = docx.Document()
        document.add_heading("Overview", 1)
        document.add_paragraph(filler)
        document.add_heading("Findings", 1)
        document.add_paragraph(marker)
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()
    if kind == "pptx":
        import pptx

        presentation = pptx.Presentation()
        for title, text in (("Overview", filler), ("Findings", marker)):
            slide = presentation.slides.add_slide(presentation.slide_layouts[1])
            slide.shapes.title.text = title
            slide.placeholders[1].text = text
        buffer = io.BytesIO()
        presentation.save(buffer)
        return buffer.getvalue()
    if kind == "html":
        return (
            f"<html><body><h1>Overview</h1><p>{filler}</p>"
            f"<h2>Findings</h2><p>{marker}</p></body></html>"
        ).encode()
    if kind == "md":
        return f"# Overview\n\n{filler}\n\n## Findings\n\n{marker}\n".encode()
    if kind == "txt":
        return f"OVERVIEW\n\n{filler}\n\nFINDINGS\n\n{marker}\n".encode()
    if kind == "csv":
        return f'topic,note\noverview,"{filler}"\nfindings,"{marker}"\n'.encode()
    if kind == "eml":
        message = EmailMessage()
        message["From"] = "alice@example.com"
        message["To"] = "bob@example.com"
        message["Subject"] = "Findings"
        message.set_content(f"{filler}\n\n{marker}\n")
        return message.as_bytes()
    raise ValueError(f"unknown kind {kind}")
