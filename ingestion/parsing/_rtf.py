"""RTF to plain text: a small tokenizer of RTF's control words and groups.

Kept: text, paragraph and line breaks, tabs, ``\\'hh`` bytes in the document's code page
and ``\\uN`` characters (skipping their ``\\ucN`` fallbacks). Dropped: destinations that
hold no body text (font and colour tables, style sheets, document info, pictures, fields'
instructions, headers and footers) and every ``\\*`` destination a reader may ignore.
No library in ragway's lock reads RTF without the pandoc binary; this is the usual
"strip RTF" state machine, tested with hand-made files.
"""

from __future__ import annotations

import re

__all__ = ["rtf_text"]

_TOKEN = re.compile(
    rb"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)"
)
_SKIPPED_DESTINATIONS = {
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"header",
    b"headerl",
    b"headerr",
    b"headerf",
    b"footer",
    b"footerl",
    b"footerr",
    b"footerf",
    b"fldinst",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"generator",
    b"xmlnstbl",
    b"themedata",
    b"colorschememapping",
    b"latentstyles",
    b"datastore",
    b"object",
    b"filetbl",
}
_BREAKS = {b"par": "\n\n", b"line": "\n", b"sect": "\n\n", b"page": "\n\n", b"row": "\n"}
_CHARACTERS = {
    b"tab": "\t",
    b"cell": " | ",
    b"emdash": "\u2014",
    b"endash": "\u2013",
    b"lquote": "\u2018",
    b"rquote": "\u2019",
    b"ldblquote": "\u201c",
    b"rdblquote": "\u201d",
    b"bullet": "\u2022",
    b"emspace": " ",
    b"enspace": " ",
    b"qmspace": " ",
}
_MAX_DEPTH = 256


def rtf_text(data: bytes) -> str:
    """The body text of an RTF document (paragraphs separated by newlines)."""
    out: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together (multi-byte code pages)
    codepage = "cp1252"
    stack: list[tuple[bool, int]] = []  # (skipping, unicode fallback length) per open group
    skipping = False
    fallback = 1
    to_skip = 0  # fallback characters still to drop after a \uN
    first_in_group = False

    def flush() -> None:
        if pending:
            out.append(pending.decode(codepage, errors="replace"))
            pending.clear()

    for match in _TOKEN.finditer(data):
        word, argument, hexbyte, symbol, brace, text = match.groups()
        starts_group, first_in_group = first_in_group, False
        if brace == b"{":
            flush()
            if len(stack) >= _MAX_DEPTH:
                raise ValueError(f"groups nested deeper than {_MAX_DEPTH}")
            stack.append((skipping, fallback))
            first_in_group = True
            continue
        if brace == b"}":
            flush()
            if stack:
                skipping, fallback = stack.pop()
            to_skip = 0
            continue
        if symbol is not None:
            if symbol == b"*":
                skipping = True
            elif not skipping and to_skip:
                to_skip -= 1
            elif not skipping and symbol in (b"\\", b"{", b"}"):
                flush()
                out.append(symbol.decode())
            elif not skipping and symbol == b"~":
                flush()
                out.append("\u00a0")
            continue
        if hexbyte is not None:
            if to_skip:
                to_skip -= 1
            elif not skipping:
                pending.append(int(hexbyte, 16))
            continue
        if word is not None:
            if word in _SKIPPED_DESTINATIONS and starts_group:
                skipping = True
            elif word == b"ansicpg" and argument:
                codepage = f"cp{int(argument)}"
                try:
                    b"".decode(codepage)
                except LookupError:
                    codepage = "cp1252"
            elif word == b"uc" and argument:
                fallback = int(argument)
            elif word == b"u" and argument:
                flush()
                if not skipping:
                    code = int(argument)
                    out.append(chr(code + 65536 if code < 0 else code))
                to_skip = fallback
            elif not skipping and word in _BREAKS:
                flush()
                out.append(_BREAKS[word])
            elif not skipping and word in _CHARACTERS:
                flush()
                out.append(_CHARACTERS[word])
            continue
        if text is not None and not skipping:
            if to_skip:
                dropped = min(to_skip, len(text))
                text = text[dropped:]
                to_skip -= dropped
            flush()
            out.append(text.decode(codepage, errors="replace"))
    flush()
    return "".join(out)
