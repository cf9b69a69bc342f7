"""Phone numbers next to words: the view in which python-phonenumbers sees them.

At Presidio's ``VALID`` leniency ``PhoneNumberMatcher`` drops a number that touches a Latin
letter, ``%`` or a currency sign (``call4155552671``, ``4155552671please``, the ``n`` of an
escaped ``\\n`` in a JSON string), however valid the number plan says it is. ``separated``
returns the text with each such character that borders a digit run from outside replaced by a
space (same length, so offsets do not move), and where it did so. A letter between two digits
is kept: it is part of what phonenumbers reads (``555-1234x12``), and a hash or a UUID does not
fall apart into digit groups.
"""

from __future__ import annotations

import regex

__all__ = ["separated"]

_EDGE = regex.compile(
    r"(?<![0-9])[\p{L}\p{M}%\p{Sc}](?=[+(]?[0-9])|(?<=[0-9]\)?)[\p{L}\p{M}%\p{Sc}](?![0-9])"
)


def separated(text: str) -> tuple[str, list[int]] | None:
    """``text`` with the characters that keep a number from being read blanked, and where;
    None when there are none."""
    positions = [found.start() for found in _EDGE.finditer(text)]
    if not positions:
        return None
    chars = list(text)
    for pos in positions:
        chars[pos] = " "
    return "".join(chars), positions
