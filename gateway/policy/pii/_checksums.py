"""Card numbers and IBANs found by their checksums, in any context (glued to words, in escapes).

The checksum decides; the context only says where a number may start and end:

- card: 13-19 digits, maybe in groups of 3-6 (the last maybe shorter) split by single spaces or
  hyphens, not continuing into more digits, with an issuer's first digit and length, passing
  Luhn; inside a longer run of groups every span of whole groups is tried;
- IBAN: a known country code, two check digits and the country's exact length and registry
  format (single spaces or hyphens allowed), in one letter case, passing ISO 7064 mod-97; a
  lower-case one must not be glued to other letters or digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["IBAN_LENGTHS", "find_cards", "find_ibans", "iban_valid", "luhn_valid"]

_CARD_RUN = re.compile(r"(?<![0-9+])[0-9](?:[ \-]?[0-9]){12,}")  # "+": a phone number
_SEPARATOR = re.compile(r"[ \-]")
# issuer (first digit) -> lengths its cards have: UATP; Mir and Mastercard 2-series; Amex,
# Diners, JCB; Visa; Mastercard and Maestro; Discover, UnionPay, Maestro, RuPay
_LENGTHS: Mapping[str, frozenset[int]] = {
    "1": frozenset({15}),
    "2": frozenset({16}),
    "3": frozenset({14, 15, 16, 17, 18, 19}),
    "4": frozenset({13, 16, 19}),
    "5": frozenset({16, 17, 18, 19}),
    "6": frozenset({16, 17, 18, 19}),
}
_DOUBLED = tuple((2 * d) - 9 if d > 4 else 2 * d for d in range(10))

# ISO 13616 registry: country -> BBAN format (n digits, a upper-case letters, c either)
_BBAN: Mapping[str, str] = {
    "AD": "8n12c", "AE": "19n", "AL": "8n16c", "AT": "16n", "AZ": "4a20c", "BA": "16n",
    "BE": "12n", "BG": "4a6n8c", "BH": "4a14c", "BI": "23n", "BR": "23n1a1c", "BY": "4c4n16c",
    "CH": "5n12c", "CR": "18n", "CY": "8n16c", "CZ": "20n", "DE": "18n", "DJ": "23n",
    "DK": "14n", "DO": "4c20n", "EE": "16n", "EG": "25n", "ES": "20n", "FI": "14n",
    "FK": "2a12n", "FO": "14n", "FR": "10n11c2n", "GB": "4a14n", "GE": "2a16n", "GI": "4a15c",
    "GL": "14n", "GR": "7n16c", "GT": "4c20c", "HN": "4a20n", "HR": "17n", "HU": "24n",
    "IE": "4a14n", "IL": "19n", "IQ": "4a15n", "IS": "22n", "IT": "1a10n12c", "JO": "4a4n18c",
    "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c", "LC": "4a24c", "LI": "5n12c", "LT": "16n",
    "LU": "3n13c", "LV": "4a13c", "LY": "21n", "MC": "10n11c2n", "MD": "20c", "ME": "18n",
    "MK": "3n10c2n", "MN": "16n", "MR": "23n", "MT": "4a5n18c", "MU": "4a19n3a", "NI": "4a20n",
    "NL": "4a10n", "NO": "11n", "OM": "3n16c", "PK": "4a16c", "PL": "24n", "PS": "4a21c",
    "PT": "21n", "QA": "4a21c", "RO": "4a16c", "RS": "18n", "RU": "14n15c", "SA": "2n18c",
    "SC": "4a20n3a", "SD": "14n", "SE": "20n", "SI": "15n", "SK": "20n", "SM": "1a10n12c",
    "SO": "19n", "ST": "21n", "SV": "4a20n", "TL": "19n", "TN": "20n", "TR": "6n16c",
    "UA": "6n19c", "VA": "18n", "VG": "4a16n", "XK": "16n", "YE": "4a4n18c",
}  # fmt: skip
_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _format(country: str, bban: str) -> re.Pattern[str]:
    parts = re.findall(r"([0-9]+)([nac])", bban)
    body = "".join(f"{_CLASSES[kind]}{{{count}}}" for count, kind in parts)
    return re.compile(f"{country}[0-9]{{2}}{body}")


_FORMATS = {country: _format(country, bban) for country, bban in _BBAN.items()}
IBAN_LENGTHS: Mapping[str, int] = {
    country: 4 + sum(int(n) for n in re.findall(r"[0-9]+", bban)) for country, bban in _BBAN.items()
}
_IBAN_START = re.compile(r"[A-Za-z]{2}(?=[0-9]{2})")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def luhn_valid(digits: str) -> bool:
    """Luhn's check over a string of ASCII digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        total += _DOUBLED[value] if index % 2 else value
    return total % 10 == 0


def _card_like(digits: str) -> bool:
    lengths = _LENGTHS.get(digits[0])
    return lengths is not None and len(digits) in lengths and luhn_valid(digits)


def find_cards(text: str) -> list[tuple[int, int]]:
    """Spans of the Luhn-valid card numbers in ``text`` (see the module docstring)."""
    out: list[tuple[int, int]] = []
    for run in _CARD_RUN.finditer(text):
        base = run.start()
        value = run.group()
        if _SEPARATOR.search(value) is None:
            if _card_like(value):
                out.append(run.span())
            continue
        # whole groups: (start, end) in the run, and their digits
        groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", value)]
        sizes = [end - start for start, end in groups]
        i = 0
        while i < len(groups):
            found = _card_in(value, groups, sizes, i)
            if found is None:
                i += 1
                continue
            j = found
            out.append((base + groups[i][0], base + groups[j][1]))
            i = j + 1
    return out


def _card_in(value: str, groups: list[tuple[int, int]], sizes: list[int], first: int) -> int | None:
    """The last group of the longest card that starts with group ``first``, if any
    (``sizes``: each group's length)."""
    best: int | None = None
    count = 0
    for last in range(first, len(groups)):
        count += sizes[last]
        if count > 19:
            break
        if last > first and not 3 <= sizes[last - 1] <= 6:
            break  # groups as printed: 3-6 digits, the last one maybe shorter
        if count >= 13:
            digits = "".join(value[s:e] for s, e in groups[first : last + 1])
            if _card_like(digits):
                best = last
    return best


def iban_valid(compact: str) -> bool:
    """Country format (and so length) and mod-97 check of an IBAN without separators."""
    value = compact.upper()
    shape = _FORMATS.get(value[:2])
    if shape is None or shape.fullmatch(value) is None:
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def find_ibans(text: str) -> list[tuple[int, int]]:
    """Spans of the valid IBANs in ``text`` (see the module docstring)."""
    out: list[tuple[int, int]] = []
    resume = 0
    size = len(text)
    for start_match in _IBAN_START.finditer(text):
        start = start_match.start()
        if start < resume:
            continue
        length = IBAN_LENGTHS.get(start_match.group().upper())
        if length is None:
            continue
        chars: list[str] = []
        pos = start
        while len(chars) < length and pos < size:
            char = text[pos]
            if char in _ALNUM:
                chars.append(char)
                pos += 1
            elif char in " -" and pos + 1 < size and text[pos + 1] in _ALNUM:
                pos += 1
            else:
                break
        if len(chars) < length:
            continue
        compact = "".join(chars)
        if not (compact.isupper() or compact.islower()):
            continue
        if compact.islower() and (
            (start > 0 and text[start - 1] in _ALNUM) or (pos < size and text[pos] in _ALNUM)
        ):
            continue
        if iban_valid(compact):
            out.append((start, pos))
            resume = pos
    return out
