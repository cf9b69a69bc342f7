"""Documents of the newer formats, written by the tests' own code (nothing downloaded).

XLSX, ODS, ODT and EPUB are zip packages of XML, written here member by member as office
suites write their minimal files; RTF by hand; e-mail with the ``email`` package.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import zipfile
from email.message import EmailMessage
from xml.sax.saxutils import escape

__all__ = [
    "make_eml",
    "make_epub",
    "make_json",
    "make_jsonl",
    "make_ods",
    "make_odt",
    "make_rtf",
    "make_xlsx",
]

Sheets = dict[str, list[list[str]]]


def _zip(members: dict[str, str | bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first is not None:  # OpenDocument and EPUB: "mimetype" first, uncompressed
            archive.writestr(stored_first, members[stored_first], zipfile.ZIP_STORED)
        for name, data in members.items():
            if name != stored_first:
                archive.writestr(name, data)
    return buffer.getvalue()


def make_xlsx(sheets: Sheets) -> bytes:
    """An XLSX workbook: strings shared (as Excel writes them), numbers inline."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    shared: list[str] = []
    members: dict[str, str | bytes] = {}
    sheet_entries = []
    rels = []
    for number, (name, rows) in enumerate(sheets.items(), start=1):
        xml_rows = []
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{chr(ord('A') + c)}{r}"
                if value.replace(".", "", 1).isdigit():
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                else:
                    shared.append(value)
                    cells.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        members[f"xl/worksheets/sheet{number}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'
            f"{''.join(xml_rows)}</sheetData></worksheet>"
        )
        sheet_entries.append(
            f'<sheet name="{escape(name)}" sheetId="{number}" r:id="rId{number}"/>'
        )
        rels.append(
            f'<Relationship Id="rId{number}" Type="{rel_ns}/worksheet" '
            f'Target="worksheets/sheet{number}.xml"/>'
        )
    strings = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
    members["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="{len(shared)}">{strings}</sst>'
    )
    members["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel_ns}">'
        f"<sheets>{''.join(sheet_entries)}</sheets></workbook>"
    )
    members["xl/_rels/workbook.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{"".join(rels)}</Relationships>'
    )
    members["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="'
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    return _zip(members)


_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.3"'
)


def _odf(mimetype: str, body: str) -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        f"<office:body>{body}</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
        'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return _zip(
        {"mimetype": mimetype, "content.xml": content, "META-INF/manifest.xml": manifest},
        stored_first="mimetype",
    )


def make_ods(sheets: Sheets) -> bytes:
    """An ODS spreadsheet, with the trailing empty cells and rows office suites repeat."""
    tables = []
    for name, rows in sheets.items():
        xml_rows = "".join(
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p>'
                "</table:table-cell>"
                for v in row
            )
            + '<table:table-cell table:number-columns-repeated="1020"/></table:table-row>'
            for row in rows
        )
        empty = (
            '<table:table-row table:number-rows-repeated="1048000">'
            '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
        )
        tables.append(f'<table:table table:name="{escape(name)}">{xml_rows}{empty}</table:table>')
    return _odf(
        "application/vnd.oasis.opendocument.spreadsheet",
        f"<office:spreadsheet>{''.join(tables)}</office:spreadsheet>",
    )


def make_odt(blocks: list[tuple[int, str]]) -> bytes:
    """An ODT document: (outline level, text) headings for level >= 1, paragraphs for 0."""
    body = "".join(
        f'<text:h text:outline-level="{level}">{escape(text)}</text:h>'
        if level
        else f"<text:p>{escape(text).replace('  ', '<text:s/>')}</text:p>"
        for level, text in blocks
    )
    return _odf("application/vnd.oasis.opendocument.text", f"<office:text>{body}</office:text>")


def make_epub(chapters: list[tuple[str, str]]) -> bytes:
    """An EPUB 3 book of (title, paragraph) chapters, one XHTML file each."""
    members: dict[str, str | bytes] = {"mimetype": "application/epub+zip"}
    members["META-INF/container.xml"] = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
        'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/book.opf" '
        'media-type="application/oebps-package+xml"/></rootfiles></container>'
    )
    items, refs = [], []
    for number, (title, text) in enumerate(chapters, start=1):
        members[f"OEBPS/text/ch{number}.xhtml"] = (
            '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            f"<p>{escape(text)}</p></body></html>"
        )
        items.append(
            f'<item id="ch{number}" href="text/ch{number}.xhtml" '
            'media-type="application/xhtml+xml"/>'
        )
        refs.append(f'<itemref idref="ch{number}"/>')
    members["OEBPS/book.opf"] = (
        '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" '
        'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/'
        '1.1/"><dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>Book</dc:title>'
        f"<dc:language>en</dc:language></metadata><manifest>{''.join(items)}</manifest>"
        f"<spine>{''.join(refs)}</spine></package>"
    )
    return _zip(members, stored_first="mimetype")


def make_rtf(paragraphs: list[str]) -> bytes:
    """An RTF document as a word processor writes one: tables of fonts, colours, info."""
    body = "".join(
        "\\pard\\plain\\f0\\fs24 "
        + p.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}").replace("é", "\\'e9")
        + "\\par\n"
        for p in paragraphs
    )
    return (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\froman Times New Roman;}}"
        "{\\colortbl;\\red0\\green0\\blue0;}{\\*\\generator Riched20 10.0;}"
        "{\\info{\\author Hidden Author}}\n" + body + "}"
    ).encode("latin-1")


def make_eml(body: str, attachments: list[tuple[str, bytes, str]]) -> bytes:
    """An e-mail with ``attachments`` as (file name, bytes, MIME type)."""
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "bob@example.com"
    message["Subject"] = "Quarterly figures"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message.set_content(body)
    for name, data, mime in attachments:
        if mime == "message/rfc822":  # an e-mail attached as itself, not as bytes
            inner = email.message_from_bytes(data, policy=email.policy.default)
            message.add_attachment(inner, filename=name)
            continue
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def make_json(value: object) -> bytes:
    return json.dumps(value, indent=2).encode()


def make_jsonl(records: list[object]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()
