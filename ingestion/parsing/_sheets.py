"""Spreadsheets (XLSX, ODS) read from their XML: one element per row, grouped by sheet.

Each sheet's first non-empty row is its header; every other row of the sheet carries it as
``Element.header``, so the chunker repeats it at the top of each chunk of that sheet. The
sheet's name is the element's section and its position (from 1) its page number, as
unstructured's own ``partition_xlsx`` numbers sheets. Cells are the values stored in the
file (formulas as their cached results, dates as the numbers spreadsheets keep them as).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingestion.parsing._base import Element
from ingestion.parsing._zipxml import attribute, local_name, odf_text, read_xml, repeat_count

__all__ = ["read_ods", "read_xlsx"]

_CELL_SEPARATOR = " | "
_MAX_REPEAT = 1000  # ODS repeats a row or cell by count; empty tails repeat ~1M times
_COLUMN = re.compile(r"[A-Z]+")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def read_xlsx(path: Path, *, filename: str) -> list[Element]:
    with zipfile.ZipFile(path) as archive:
        book = read_xml(archive, "xl/workbook.xml", filename=filename, kind="xlsx")
        targets = _relationships(archive, filename)
        shared = _shared_strings(archive, filename)
        sheets: list[tuple[str, list[list[str]]]] = []
        for sheet in (e for e in book.iter() if local_name(e) == "sheet"):
            target = targets.get(sheet.get(f"{{{_REL_NS}}}id", ""))
            if target is None:
                continue
            root = read_xml(archive, target, filename=filename, kind="xlsx")
            sheets.append((sheet.get("name", ""), list(_xlsx_rows(root, shared))))
    return _elements(sheets)


def read_ods(path: Path, *, filename: str) -> list[Element]:
    with zipfile.ZipFile(path) as archive:
        content = read_xml(archive, "content.xml", filename=filename, kind="ods")
    sheets = [
        (attribute(table, "name"), list(_ods_rows(table)))
        for spreadsheet in content.iter()
        if local_name(spreadsheet) == "spreadsheet"
        for table in spreadsheet
        if local_name(table) == "table"
    ]
    return _elements(sheets)


def _elements(sheets: list[tuple[str, list[list[str]]]]) -> list[Element]:
    elements: list[Element] = []
    for number, (name, rows) in enumerate(sheets, start=1):
        lines = [_CELL_SEPARATOR.join(_trimmed(row)) for row in rows]
        lines = [line for line in lines if line.strip(_CELL_SEPARATOR + " ")]
        if not lines:
            continue
        section = name or f"Sheet {number}"
        header, body = lines[0], lines[1:]
        if not body:  # a sheet of one row: that row is its content
            header, body = "", lines
        elements.extend(
            Element(
                text=line,
                kind="TableRow",
                page_number=number,
                section=section,
                header=header or None,
            )
            for line in body
        )
    return elements


def _trimmed(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


def _relationships(archive: zipfile.ZipFile, filename: str) -> dict[str, str]:
    rels = read_xml(archive, "xl/_rels/workbook.xml.rels", filename=filename, kind="xlsx")
    targets: dict[str, str] = {}
    for rel in rels.iter():
        target = rel.get("Target")
        if local_name(rel) != "Relationship" or not target:
            continue
        resolved = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[rel.get("Id", "")] = posixpath.normpath(resolved)
    return targets


def _shared_strings(archive: zipfile.ZipFile, filename: str) -> list[str]:
    if "xl/sharedStrings.xml" not in {i.filename for i in archive.infolist()}:
        return []
    root = read_xml(archive, "xl/sharedStrings.xml", filename=filename, kind="xlsx")
    return [_texts(item) for item in root if local_name(item) == "si"]


def _texts(element: Any) -> str:
    """The text of every ``<t>`` under an element (a shared or inline rich string)."""
    return "".join(t.text or "" for t in element.iter() if local_name(t) == "t")


def _xlsx_rows(root: Any, shared: list[str]) -> Iterator[list[str]]:
    for row in (e for e in root.iter() if local_name(e) == "row"):
        cells: list[str] = []
        for cell in (c for c in row if local_name(c) == "c"):
            column = _column_index(cell.get("r", ""), default=len(cells))
            cells.extend([""] * max(0, column - len(cells)))
            cells.append(_xlsx_value(cell, shared))
        yield cells


def _column_index(reference: str, *, default: int) -> int:
    match = _COLUMN.match(reference)
    if match is None:
        return default
    index = 0
    for letter in match.group():
        index = index * 26 + ord(letter) - ord("A") + 1
    return min(index - 1, 16383)  # XLSX has 16384 columns at most


def _xlsx_value(cell: Any, shared: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return " ".join(_texts(cell).split())
    value = next((v.text or "" for v in cell if local_name(v) == "v"), "")
    if kind == "s":
        try:
            return " ".join(shared[int(value)].split())
        except (ValueError, IndexError):
            return ""
    if kind == "b":
        return "TRUE" if value == "1" else "FALSE"
    return " ".join(value.split())


def _ods_rows(table: Any) -> Iterator[list[str]]:
    for row in _descendants(table, "table-row", stop="table"):
        cells: list[str] = []
        for cell in row:
            if local_name(cell) not in ("table-cell", "covered-table-cell"):
                continue
            text = " ".join(
                " ".join(odf_text(p).split()) for p in cell if local_name(p) == "p"
            ).strip()
            repeat = repeat_count(cell, "number-columns-repeated")
            if not text and repeat > 1:
                cells.extend([""] * min(repeat, _MAX_REPEAT))
                continue
            cells.extend([text] * min(repeat, _MAX_REPEAT))
        if not any(cells):
            continue
        yield from [cells] * min(repeat_count(row, "number-rows-repeated"), _MAX_REPEAT)


def _descendants(element: Any, name: str, *, stop: str) -> Iterable[Any]:
    """Descendants called ``name``, not looking inside nested ``stop`` elements."""
    for child in element:
        child_name = local_name(child)
        if child_name == name:
            yield child
        elif child_name != stop:
            yield from _descendants(child, name, stop=stop)
