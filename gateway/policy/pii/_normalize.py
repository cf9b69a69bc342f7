"""A detection view of a text: Unicode and URL obfuscations undone, offsets kept.

``normalize`` maps non-ASCII characters to NFKC, drops invisible ones (zero-width space, soft
hyphen), and decodes relevant percent escapes and JSON escapes; ``Normalized.span`` maps a span
of the view back onto the original, so the masker replaces what the caller actually sent.
Plain ASCII without ``%`` or a backslash is its own view: ``normalize`` returns None.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

__all__ = ["INVISIBLE", "Normalized", "normalize"]

# zero-width space / non-joiner / joiner, word joiner, invisible operators, BOM, soft hyphen,
# Mongolian vowel separator: not shown, and dropped by nothing else on the way
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e")

# non-ASCII runs; percent escapes of characters an email, phone or card is written with, and
# of UTF-8 sequences; JSON's escapes
_SPECIAL = re.compile(
    r"[^\x00-\x7f]+"
    r"|%(?:2[0bBdDeEfF89]|40|3[aA])"
    r"|(?:%[c-fC-F][0-9a-fA-F])(?:%[89abAB][0-9a-fA-F]){1,3}"
    r"|\\(?:u[0-9a-fA-F]{4}|[ntr\"/\\])"
)
_JSON_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "/": "/", "\\": "\\"}


def _form(chars: str) -> str:
    """What the view writes for ``chars`` (decoded already)."""
    return "".join("" if c in INVISIBLE else unicodedata.normalize("NFKC", c) for c in chars)


def _decoded(escape: str) -> str | None:
    """The characters a percent or JSON escape stands for; None if it is not one."""
    if escape[0] == "\\":
        return chr(int(escape[2:], 16)) if escape[1] == "u" else _JSON_ESCAPES[escape[1]]
    try:
        return bytes.fromhex(escape.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class Normalized:
    """The view ``text`` and, per changed character, where it came from in the original.

    ``pieces`` holds ``(view_start, view_end, original_start, original_end)`` for every
    original character the view writes differently (an empty view range: dropped), sorted;
    between pieces the view and the original agree character for character.
    """

    text: str
    pieces: tuple[tuple[int, int, int, int], ...]
    starts: tuple[int, ...]  # view_start of each piece, for bisection

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the view span ``[start, end)``."""
        return self._start(start), self._end(end)

    def touches(self, start: int, end: int) -> bool:
        """Whether ``[start, end]`` of the view holds or borders a changed character."""
        index = bisect_right(self.starts, end) - 1
        return index >= 0 and self.pieces[index][1] >= start

    def _start(self, pos: int) -> int:
        index = bisect_right(self.starts, pos) - 1
        if index < 0:
            return pos
        _, view_end, original_start, original_end = self.pieces[index]
        if pos < view_end:  # inside a changed character: its start
            return original_start
        return pos + original_end - view_end

    def _end(self, pos: int) -> int:
        index = bisect_left(self.starts, pos) - 1
        if index < 0:
            return pos
        _, view_end, _, original_end = self.pieces[index]
        if pos <= view_end:
            return original_end
        return pos + original_end - view_end


def normalize(text: str) -> Normalized | None:
    """The detection view of ``text``; None when it is the text itself."""
    if text.isascii() and "%" not in text and "\\" not in text:
        return None
    out: list[str] = []
    pieces: list[tuple[int, int, int, int]] = []
    view = 0  # length of the view so far
    cursor = 0  # original position copied up to
    for found in _SPECIAL.finditer(text):
        start = found.start()
        out.append(text[cursor:start])
        view += start - cursor
        cursor = found.end()
        run = found.group()
        if run[0] in "%\\":
            decoded = _decoded(run)
            form = run if decoded is None else _form(decoded)
            if form == run:
                out.append(run)
                view += len(run)
                continue
            pieces.append((view, view + len(form), start, cursor))
            out.append(form)
            view += len(form)
            continue
        for offset, char in enumerate(run):
            form = _form(char)
            if form != char:
                pieces.append((view, view + len(form), start + offset, start + offset + 1))
            out.append(form)
            view += len(form)
    if not pieces:
        return None
    out.append(text[cursor:])
    return Normalized("".join(out), tuple(pieces), tuple(p[0] for p in pieces))
