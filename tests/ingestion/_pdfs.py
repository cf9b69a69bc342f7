"""PDFs written by hand whose text runs sit exactly where a test puts them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tests.support.documents import pdf_file

__all__ = ["Run", "laid_out_pdf"]

# (x, y, font size, text): x and y in points from the page's bottom left corner. Runs of
# 13 points and more are set in Helvetica-Bold (headings), the rest in Helvetica.
Run = tuple[float, float, float, str]


def laid_out_pdf(
    pages: list[list[Run]], *, fields: Sequence[tuple[str, float, float]] = ()
) -> bytes:
    """US Letter pages, one text object per run, in the order given (the content order).

    ``fields``: filled text form fields on the first page, (value, x, y), 220x20 points.
    """
    objects: list[bytes] = [_font(b"Helvetica"), _font(b"Helvetica-Bold"), b""]
    first_field = len(objects) + 2 * len(pages) + 1
    field_refs = _refs(range(first_field, first_field + len(fields)))
    kids: list[int] = []
    for number, runs in enumerate(pages):
        stream = b"\n".join(_show(run) for run in runs)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        annots = b"/Annots [%s]" % field_refs if number == 0 and fields else b""
        objects.append(
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 1 0 R /F2 2 0 R >> >> /Contents %d 0 R %s >>"
            % (len(objects), annots)
        )
        kids.append(len(objects))
    for value, x, y in fields:
        objects.append(
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (f%d) /V (%s) "
            b"/Rect [%g %g %g %g] /P %d 0 R >>"
            % (len(objects), _escape(value), x, y, x + 220, y + 20, kids[0])
        )
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (_refs(kids), len(kids))
    form = b"/AcroForm << /Fields [%s] >>" % field_refs if fields else b""
    objects.append(b"<< /Type /Catalog /Pages 3 0 R %s >>" % form)
    return pdf_file(objects, root=len(objects))


def _refs(numbers: Iterable[int]) -> bytes:
    return b" ".join(b"%d 0 R" % number for number in numbers)


def _font(name: bytes) -> bytes:
    return b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % name


def _show(run: Run) -> bytes:
    x, y, size, text = run
    font = b"/F2" if size >= 13 else b"/F1"
    return b"BT %s %g Tf %g %g Td (%s) Tj ET" % (font, size, x, y, _escape(text))


def _escape(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("cp1252")
