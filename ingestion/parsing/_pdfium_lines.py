"""The text lines of one PDF page from PDFium's text page, with their boxes.

PDFium orders a page's characters as the content stream draws them and inserts ``\\r\\n``
where a new line starts; a hyphen between letters at a line end becomes U+FFFE, with no
line break after it. It is kept as a hyphen and the next line follows it without a space
("hyphen-ation", "well-known"): pdfminer gives "hyphen- ation"; dropping it would also
join compounds ("wellknown"). A line's box comes from PDFium's text rectangles (one per text
object on it) and, for its height, from the font as pdfminer measures it (descent to one
font size above). A line is cut where a wide gap separates two of its runs (another column,
a page number set flush right in a running header, a table cell), as pdfminer's
``char_margin`` would cut it; closer runs stay one line.

A few PDFium calls per line, none per character (except, for the rare line much wider than
its characters, one pair per space): this is what makes the path cheap.
"""

from __future__ import annotations

import ctypes
import math
import re
from typing import Any

from ingestion.parsing._pdf_layout import Line

__all__ = ["form_values", "page_lines"]

# A gap wider than this many line heights cuts a line.
COLUMN_GAP = 1.5
# Lines wider than this many line heights a character (plus one gap) may hide a wide gap
# inside one text object; only they are searched space by space.
_WIDE_CHAR = 0.6
_LINE = re.compile(r"[^\r\n\ufffe]+\ufffe?")
_SOFT_HYPHEN = "\ufffe"
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufeff\uffff]")
# A run this short before a gap is a bullet or a list number: it stays with its text.
_MARKER = 3

Box = tuple[float, float, float, float]  # left, bottom, right, top


def page_lines(textpage: Any, pdfium_c: Any) -> list[Line]:
    """The lines of a PDFium text page (``FPDF_TEXTPAGE``), in content order."""
    return _TextPage(textpage, pdfium_c).lines()


class _TextPage:
    def __init__(self, raw: Any, pdfium_c: Any) -> None:
        self._raw = raw
        self._c = pdfium_c
        self._doubles = [ctypes.c_double() for _ in range(4)]
        self._rect = pdfium_c.FS_RECTF()
        self._matrix = pdfium_c.FS_MATRIX()

    def lines(self) -> list[Line]:
        c, raw = self._c, self._raw
        count = c.FPDFText_CountChars(raw)
        if count <= 0:
            return []
        buffer = (ctypes.c_ushort * (count + 1))()
        c.FPDFText_GetText(raw, 0, count, buffer)
        text = _utf16(buffer)
        # Text index == char index for almost every PDF; where PDFium left a char out of the
        # text, each line is mapped through its API and kept whole (no cutting by offsets).
        aligned = len(text) == count
        lines: list[Line] = []
        for match in _LINE.finditer(text):
            start, end = match.span()
            if aligned:
                first, last = start, end - 1
            else:
                first = c.FPDFText_GetCharIndexFromTextIndex(raw, start)
                last = c.FPDFText_GetCharIndexFromTextIndex(raw, end - 1)
                if first < 0 or last < first:
                    continue
            lines.extend(self._line(match.group(), first, last, cuttable=aligned))
        return lines

    def _line(self, text: str, first: int, last: int, *, cuttable: bool) -> list[Line]:
        joins = text.endswith(_SOFT_HYPHEN)
        text = text.replace(_SOFT_HYPHEN, "-")
        clean = _CONTROL.sub("", text).strip()
        if not clean:
            return []
        lead = len(text) - len(text.lstrip()) if cuttable else 0
        y0, y1 = self._font_extent(first + lead)
        rects = self._rects(first, last - first + 1)
        if rects:
            x0, x1 = rects[0][0], max(rect[2] for rect in rects)
            if y0 == y1:  # no font box: the glyphs' own
                y0, y1 = min(rect[1] for rect in rects), max(rect[3] for rect in rects)
        else:
            x0, x1 = self._box(first + lead, loose=True)[0], self._box(last, loose=True)[2]
        gap = COLUMN_GAP * (y1 - y0)
        cuts: dict[int, tuple[float, float]] = {}
        if cuttable and gap > 0:
            cuts.update(self._object_gaps(first, last, rects, gap))
            if x1 - x0 > _WIDE_CHAR * (y1 - y0) * len(clean) + gap:
                cuts.update(self._space_gaps(text, first, gap))
        if not cuts:
            return [Line(clean, x0, y0, x1, y1, joins)]
        return _pieces(text, first, sorted(cuts.items()), (x0, y0, x1, y1), joins)

    def _object_gaps(
        self, first: int, last: int, rects: list[Box], gap: float
    ) -> dict[int, tuple[float, float]]:
        """Cuts between text objects: {first char after the gap: (gap's left, right)}."""
        cuts = {}
        for index in range(1, len(rects)):
            left, right = rects[index - 1][2], rects[index][0]
            if right - left > gap:
                cuts[self._rect_start(first, last, index)] = (left, right)
        return cuts

    def _space_gaps(self, text: str, first: int, gap: float) -> dict[int, tuple[float, float]]:
        """Cuts at wide spaces inside a text object (a page number set flush right)."""
        cuts = {}
        for match in _SPACES.finditer(text.rstrip()):
            start, end = match.span()
            if start == 0:
                continue
            left = self._box(first + start - 1)[2]
            right = self._box(first + end)[0]
            if right - left > gap:
                cuts[first + end] = (left, right)
        return cuts

    def _rects(self, first: int, count: int) -> list[Box]:
        c = self._c
        left, top, right, bottom = self._doubles
        rects = []
        for index in range(c.FPDFText_CountRects(self._raw, first, count)):
            if c.FPDFText_GetRect(self._raw, index, left, top, right, bottom):
                rects.append((left.value, bottom.value, right.value, top.value))
        return rects

    def _rect_start(self, first: int, last: int, rect: int) -> int:
        """The first char of text rectangle ``rect`` of the chars from ``first``."""
        low, high = first, last
        while low < high:
            middle = (low + high) // 2
            if self._c.FPDFText_CountRects(self._raw, first, middle - first + 1) > rect:
                high = middle
            else:
                low = middle + 1
        return low

    def _box(self, index: int, *, loose: bool = False) -> Box:
        if loose:
            rect = self._rect
            if not self._c.FPDFText_GetLooseCharBox(self._raw, index, rect):
                return (0.0, 0.0, 0.0, 0.0)
            return (rect.left, min(rect.bottom, rect.top), rect.right, max(rect.bottom, rect.top))
        left, right, bottom, top = self._doubles
        if not self._c.FPDFText_GetCharBox(self._raw, index, left, right, bottom, top):
            return (0.0, 0.0, 0.0, 0.0)
        return (left.value, bottom.value, right.value, top.value)

    def _font_extent(self, index: int) -> tuple[float, float]:
        """The vertical extent pdfminer gives a line starting with char ``index``: from the
        font's descent below the baseline, one font size (in page space) high."""
        c, matrix = self._c, self._matrix
        _, bottom, _, top = self._box(index, loose=True)
        size = c.FPDFText_GetFontSize(self._raw, index)
        if c.FPDFText_GetMatrix(self._raw, index, matrix):
            size *= math.hypot(matrix.c, matrix.d)
        return (bottom, bottom + size) if size > 0 else (bottom, top)


def _pieces(
    text: str,
    first: int,
    cuts: list[tuple[int, tuple[float, float]]],
    box: Box,
    joins: bool,
) -> list[Line]:
    """The runs of a line between ``cuts`` (char index, (gap's left, right)), a short run
    (a bullet, a list number) kept with the one after it."""
    x0, y0, x1, y1 = box
    starts = [first, *(index for index, _ in cuts)]
    ends = [*(index for index, _ in cuts), first + len(text)]
    lefts = [x0, *(right for _, (_, right) in cuts)]
    rights = [*(left for _, (left, _) in cuts), x1]
    runs: list[tuple[str, float, float]] = []
    for start, end, left, right in zip(starts, ends, lefts, rights, strict=True):
        run = _CONTROL.sub("", text[start - first : end - first]).strip()
        if runs and len(runs[-1][0]) <= _MARKER:
            before, left, _ = runs.pop()
            run = f"{before} {run}".strip()
        if run:
            runs.append((run, left, right))
    return [
        Line(run, left, y0, right, y1, joins and number == len(runs) - 1)
        for number, (run, left, right) in enumerate(runs)
    ]


def form_values(page: Any, form: Any, pdfium_c: Any) -> list[Line]:
    """Values filled into a page's text and choice fields, each a line at its field's place.

    They live in widget annotations, not in the page's text; unstructured's pdfminer path
    recovers them too. ``page`` is an ``FPDF_PAGE``, ``form`` the document's form handle.
    """
    c = pdfium_c
    kinds = (c.FPDF_FORMFIELD_TEXTFIELD, c.FPDF_FORMFIELD_COMBOBOX, c.FPDF_FORMFIELD_LISTBOX)
    rect = c.FS_RECTF()
    lines = []
    for index in range(c.FPDFPage_GetAnnotCount(page)):
        annot = c.FPDFPage_GetAnnot(page, index)
        if not annot:
            continue
        try:
            if c.FPDFAnnot_GetSubtype(annot) != c.FPDF_ANNOT_WIDGET:
                continue
            if c.FPDFAnnot_GetFormFieldType(form, annot) not in kinds:
                continue
            size = c.FPDFAnnot_GetFormFieldValue(form, annot, None, 0)
            buffer = (ctypes.c_ushort * max(size // 2, 1))()
            c.FPDFAnnot_GetFormFieldValue(form, annot, buffer, size)
            value = " ".join(_utf16(buffer).split())
            if value and c.FPDFAnnot_GetRect(annot, rect):
                bottom, top = sorted((rect.bottom, rect.top))
                lines.append(Line(value, rect.left, bottom, rect.right, top))
        finally:
            c.FPDFPage_CloseAnnot(annot)
    return lines


def _utf16(buffer: Any) -> str:
    data = bytes(memoryview(buffer).cast("B"))
    return data.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
