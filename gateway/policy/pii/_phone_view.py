"""The text as python-phonenumbers should see it: digit runs separated from adjoining words.

``PhoneNumberMatcher`` (``VALID`` leniency) drops a number touching a Latin letter, ``%`` or a
currency sign (``call4155552671``, an escaped ``\\n``). ``separated`` replaces each such
character bordering a digit run from outside with a space, keeping the length so offsets do
not move; a letter between two digits is kept (``555-1234x12``, hashes, UUIDs).
"""

from __future__ import annotations

import re

import regex

__all__ = ["separated"]

_DIGITS = re.compile(r"[0-9]+")
_GLUE = regex.compile(r"[\p{L}\p{M}%\p{Sc}]")  # what keeps phonenumbers from reading a number


def _digit(text: str, pos: int) -> bool:
    return 0 <= pos < len(text) and "0" <= text[pos] <= "9"


def separated(text: str) -> tuple[str, list[int]] | None:
    """``text`` with the characters that keep a number from being read blanked, and where;
    None when there are none."""
    found: set[int] = set()
    for run in _DIGITS.finditer(text):
        start, end = run.span()
        before = start - 2 if start >= 2 and text[start - 1] in "+(" else start - 1
        for pos in (start - 1, before):  # not a digit on its other side
            if pos >= 0 and not _digit(text, pos - 1) and _GLUE.match(text, pos):
                found.add(pos)
        after = end + 1 if text.startswith(")", end) else end
        for pos in (end, after):
            if pos < len(text) and not _digit(text, pos + 1) and _GLUE.match(text, pos):
                found.add(pos)
    if not found:
        return None
    positions = sorted(found)
    chars = list(text)
    for pos in positions:
        chars[pos] = " "
    return "".join(chars), positions
