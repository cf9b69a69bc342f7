"""The newer formats parsed in-process (no worker): text, sheets, sections, attachments.

Every sample is written by the test (``_samples``); the end-to-end path (upload, a real
worker, search through the ``openai`` SDK) is in ``test_formats_search.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.chunking import ChunkingStrategy, TokenChunker
from ingestion.errors import DocumentRejectedError
from ingestion.parsing import Element, UnstructuredParser
from ingestion.parsing._mail import AttachmentLimits
from tests.ingestion.formats._msg import make_msg
from tests.ingestion.formats._samples import (
    make_eml,
    make_epub,
    make_json,
    make_jsonl,
    make_ods,
    make_odt,
    make_rtf,
    make_xlsx,
)
from tests.support.bombs import office_bomb
from tests.support.documents import make_document

MARKER = "The zirconium reactor ran at 451 kelvin on Tuesday."
SHEETS = {
    "Summary": [["Region", "Revenue"], ["North", "100"], ["South", "250"]],
    "Plant log": [["Day", "Note"], ["Monday", "Nothing to report."], ["Tuesday", MARKER]],
}


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser(strategy="fast", max_pages=50)


def parse(parser: UnstructuredParser, tmp_path: Path, name: str, data: bytes) -> list[Element]:
    path = tmp_path / name
    path.write_bytes(data)
    return parser.parse(path, filename=name)


def marked(elements: list[Element]) -> Element:
    return next(e for e in elements if "zirconium reactor" in e.text)


@pytest.mark.parametrize(("name", "make"), [("book.xlsx", make_xlsx), ("book.ods", make_ods)])
def test_a_sheet_is_a_page_named_by_its_section(
    parser: UnstructuredParser, tmp_path: Path, name: str, make: object
) -> None:
    elements = parse(parser, tmp_path, name, make(SHEETS))  # type: ignore[operator]
    row = marked(elements)
    assert (row.page_number, row.section, row.header) == (2, "Plant log", "Day | Note")
    assert row.text == f"Tuesday | {MARKER}"
    assert [e.text for e in elements if e.section == "Summary"] == ["North | 100", "South | 250"]


@pytest.mark.parametrize(("name", "make"), [("big.xlsx", make_xlsx), ("big.ods", make_ods)])
def test_every_chunk_of_a_sheet_starts_with_its_header_row(
    parser: UnstructuredParser, tmp_path: Path, name: str, make: object
) -> None:
    rows = [["Part number", "Description"]] + [
        [f"P-{n:04d}", f"Spare part {n} for the cooling loop"] for n in range(300)
    ]
    elements = parse(parser, tmp_path, name, make({"Parts": rows}))  # type: ignore[operator]
    chunks = TokenChunker().chunk(elements, ChunkingStrategy(max_tokens=120, overlap_tokens=20))
    assert len(chunks) > 10
    assert all(c.text.startswith("Part number | Description\n") for c in chunks)
    assert all(c.token_count <= 120 and c.section == "Parts" for c in chunks)
    assert "P-0299" in chunks[-1].text


def test_odt_headings_give_sections(parser: UnstructuredParser, tmp_path: Path) -> None:
    data = make_odt([(1, "Overview"), (0, "General  background."), (2, "Findings"), (0, MARKER)])
    elements = parse(parser, tmp_path, "report.odt", data)
    assert marked(elements).section == "Overview > Findings"
    assert any(e.text == "General background." for e in elements)  # <text:s/> is a space


def test_epub_chapters_are_pages(parser: UnstructuredParser, tmp_path: Path) -> None:
    data = make_epub([("Departure", "The ship left at dawn."), ("Findings", MARKER)])
    elements = parse(parser, tmp_path, "voyage.epub", data)
    assert marked(elements).page_number == 2
    assert marked(elements).section == "Findings"
    assert next(e for e in elements if "dawn" in e.text).page_number == 1


def test_rtf_body_text_without_its_tables(parser: UnstructuredParser, tmp_path: Path) -> None:
    elements = parse(parser, tmp_path, "memo.rtf", make_rtf(["Café opening hours.", MARKER]))
    text = " ".join(e.text for e in elements)
    assert MARKER in text
    assert "Café opening hours." in text
    assert "Times New Roman" not in text
    assert "Hidden Author" not in text


def test_an_email_and_its_attachments_are_one_document(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    inner = make_eml("Forwarded note about the turbine hall.", [])
    data = make_eml(
        "Hello team, the figures are attached.",
        [
            ("findings.docx", make_document("docx", MARKER), "application/octet-stream"),
            ("figures.xlsx", make_xlsx(SHEETS), "application/octet-stream"),
            ("note.eml", inner, "message/rfc822"),
            ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ],
    )
    elements = parse(parser, tmp_path, "mail.eml", data)
    header = elements[0]
    assert header.text.startswith("Subject: Quarterly figures\nFrom: Alice Example")
    assert "Date: " in header.text
    assert "bob@example.com" not in " ".join(e.text for e in elements)  # recipients dropped
    assert any("figures are attached" in e.text and e.section is None for e in elements)
    assert marked(elements).section == "attachment findings.docx > Findings"
    sheet_row = next(e for e in elements if e.text.startswith("Tuesday | "))
    assert (sheet_row.section, sheet_row.page_number) == ("attachment figures.xlsx > Plant log", 2)
    assert any("turbine hall" in e.text and e.section == "attachment note.eml" for e in elements)
    assert not any("tool.exe" in (e.section or "") for e in elements)  # unsupported: skipped


def test_an_outlook_message_and_its_attachments(parser: UnstructuredParser, tmp_path: Path) -> None:
    data = make_msg(
        subject="Turbine report",
        sender="Carol Example <carol@example.com>",
        body="Hello.\n\nThe turbine hall is ready.",
        attachments=[("findings.docx", make_document("docx", MARKER))],
    )
    elements = parse(parser, tmp_path, "report.msg", data)
    assert elements[0].text.startswith("Subject: Turbine report\nFrom: Carol Example")
    assert any(e.text == "The turbine hall is ready." for e in elements)
    assert marked(elements).section == "attachment findings.docx > Findings"


@pytest.mark.parametrize(
    ("limits", "found"),
    [
        (AttachmentLimits(max_count=1), {"a.txt"}),
        (AttachmentLimits(max_total_bytes=40), {"a.txt"}),
        (AttachmentLimits(max_depth=1), {"a.txt", "b.txt", "inner.eml"}),
        (AttachmentLimits(max_depth=0), set()),
        (AttachmentLimits(), {"a.txt", "b.txt", "inner.eml", "inner.eml > attachment c.txt"}),
    ],
)
def test_attachments_are_bounded(tmp_path: Path, limits: AttachmentLimits, found: set[str]) -> None:
    inner = make_eml("Inner message.", [("c.txt", b"Third attachment text.", "text/plain")])
    data = make_eml(
        "Outer message.",
        [
            ("a.txt", b"First attachment text here.", "text/plain"),
            ("b.txt", b"Second attachment text here.", "text/plain"),
            ("inner.eml", inner, "message/rfc822"),
        ],
    )
    parser = UnstructuredParser(attachments=limits)
    elements = parse(parser, tmp_path, "mail.eml", data)
    sections = {e.section.removeprefix("attachment ") for e in elements if e.section}
    assert sections == found


def test_json_values_carry_their_key_paths(parser: UnstructuredParser, tmp_path: Path) -> None:
    data = make_json({"plant": {"reactors": [{"id": 7, "log": MARKER}]}, "site": "Harwell"})
    elements = parse(parser, tmp_path, "plant.json", data)
    assert marked(elements).text == f"plant.reactors[0].id: 7\nplant.reactors[0].log: {MARKER}"
    assert marked(elements).section == "plant"


def test_jsonl_records_are_grouped_by_line(parser: UnstructuredParser, tmp_path: Path) -> None:
    data = make_jsonl([{"event": "start"}, {"event": "note", "text": MARKER}])
    elements = parse(parser, tmp_path, "events.jsonl", data)
    assert [(e.section, e.text.splitlines()[0]) for e in elements] == [
        ("line 1", "event: start"),
        ("line 2", "event: note"),
    ]


CODE = {
    "tool.py": (
        '"""Tools."""\nimport os\n\n\n# Reads the reactor.\n@cached\ndef read_reactor():\n'
        '    return "zirconium reactor"\n\n\nclass Plant:\n    pass\n',
        ["python", "python > def read_reactor():", "python > class Plant:"],
    ),
    "main.go": (
        'package main\n\nimport "fmt"\n\n// Reactor says so.\nfunc reactor() string {\n'
        '\treturn "zirconium reactor"\n}\n\ntype Plant struct{}\n',
        ["go", "go > func reactor() string {", "go > type Plant struct{}"],
    ),
    "app.ts": (
        'import x from "y";\n\nexport function reactor(): string {\n  return "zirconium '
        'reactor";\n}\n\nexport class Plant {}\n',
        [
            "typescript",
            "typescript > export function reactor(): string {",
            "typescript > export class Plant {}",
        ],
    ),
    "lib.rs": (
        "use std::io;\n\n/// Reactor.\npub fn reactor() -> &'static str {\n    \"zirconium "
        'reactor"\n}\n\npub struct Plant;\n',
        ["rust", "rust > pub fn reactor() -> &'static str {", "rust > pub struct Plant;"],
    ),
    "main.c": (
        '#include <stdio.h>\n\nstatic const char *reactor(void)\n{\n    return "zirconium '
        'reactor";\n}\n\nstruct plant { int id; };\n',
        ["c", "c > static const char *reactor(void)", "c > struct plant { int id; };"],
    ),
    "Plant.java": (
        'package a;\n\nimport java.util.List;\n\npublic class Plant {\n  String r = "zirconium '
        'reactor";\n}\n',
        ["java", "java > public class Plant {"],
    ),
}


@pytest.mark.parametrize("name", sorted(CODE))
def test_code_is_split_at_top_level_definitions(
    parser: UnstructuredParser, tmp_path: Path, name: str
) -> None:
    source, sections = CODE[name]
    elements = parse(parser, tmp_path, name, source.encode())
    assert [e.section for e in elements] == sections
    assert "zirconium reactor" in marked(elements).text


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("book.xlsx", b"PK\x03\x04broken", "could not be parsed as xlsx"),
        ("empty.xlsx", make_xlsx({}), "contains no text"),
        (
            "nobook.ods",
            make_odt([(0, "x")]).replace(b"content.xml", b"content.xmx"),
            "no content.xml",
        ),
        ("bad.odt", b"not a zip at all", "is not a valid ODT (not a zip package)"),
        ("bad.epub", make_odt([(0, "x")]), "no META-INF/container.xml"),
        ("bad.rtf", b"plain text, no header", "is not RTF"),
        ("bad.json", b'{"a": [1, 2', "is not valid JSON"),
        ("bad.jsonl", b'{"a": 1}\n{"b": \n', "is not valid JSON on line 2"),
        ("bad.eml", b"\x00\x01\x02binary", "has binary content"),
        ("bad.msg", b"not an OLE file", "is not an Outlook MSG file"),
        (
            "fake.msg",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "could not be parsed as msg",
        ),
        ("bad.py", b"x = '\xff\xfe'\n", "is not UTF-8 source code"),
    ],
)
def test_corrupt_files_are_rejected_with_a_reason(
    parser: UnstructuredParser, tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        parse(parser, tmp_path, name, data)
    assert caught.value.code == "invalid_file"
    assert caught.value.message.startswith(f"{name!r}")
    assert words in caught.value.message


BOMBS = {
    "sheet.xlsx": (make_xlsx(SHEETS), "xl/worksheets/sheet1.xml"),
    "sheet.ods": (make_ods(SHEETS), "content.xml"),
    "text.odt": (make_odt([(0, MARKER)]), "content.xml"),
    "book.epub": (make_epub([("Findings", MARKER)]), "OEBPS/text/ch1.xhtml"),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path, name: str) -> None:
    document, member = BOMBS[name]
    parser = UnstructuredParser(max_expanded_bytes=8 * 1024**2)
    with pytest.raises(DocumentRejectedError) as caught:
        parse(parser, tmp_path, name, office_bomb(document, member, expanded_bytes=20 * 1024**2))
    assert caught.value.code == "invalid_file"
    assert "when unzipped; the limit is 8388608" in caught.value.message


def test_a_bomb_attached_to_an_email_is_skipped(tmp_path: Path) -> None:
    bomb = office_bomb(make_xlsx(SHEETS), "xl/worksheets/sheet1.xml", expanded_bytes=20 * 1024**2)
    data = make_eml(MARKER, [("bomb.xlsx", bomb, "application/octet-stream")])
    parser = UnstructuredParser(max_expanded_bytes=8 * 1024**2)
    elements = parse(parser, tmp_path, "mail.eml", data)
    assert marked(elements).section is None
    assert not any(e.section for e in elements)
