"""Email addresses with the span a person would mark, in URLs, after ``key=``, in JSON escapes.

``EmailFinder`` reads each address outwards from its ``@`` (a scan stops at the next ``@``, so
a text costs linear time):

- local part: letters, digits, ``_ . + -`` and an apostrophe between letters (``o'brien``); no
  leading dot, nothing before a ``..``; the other RFC 5322 characters delimit an address;
- domain: labels of letters, digits and inner hyphens, up to the last label that is a real TLD
  (tldextract's bundled suffix list, offline), with a label before it; ``build@1.2.3`` is none.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

__all__ = ["EmailFinder"]

_LOCAL_RUN = regex.compile(r"[\w.+'\-]+", regex.REVERSE)  # matched leftwards from the "@"
_LABEL = r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?"
_DOMAIN = regex.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_BAD_QUOTE = regex.compile(r"(?<!\w)'|'(?!\w)")


class EmailFinder:
    """Finds addresses whose domain ends in one of ``tlds`` (lower-case labels)."""

    def __init__(self, tlds: Iterable[str]) -> None:
        self._tlds = frozenset(tlds)

    @classmethod
    def offline(cls) -> EmailFinder:
        """Top-level domains of the public suffix list that ships with tldextract."""
        import tldextract

        suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None).tlds
        tlds: set[str] = set()
        for suffix in suffixes:
            label = suffix.rsplit(".", 1)[-1].lower()
            tlds.add(label)
            try:
                tlds.add(label.encode("idna").decode("ascii"))  # xn--p1ai for рф
            except UnicodeError:
                continue
        return cls(tlds)

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of the addresses in ``text`` (see the module docstring)."""
        out: list[tuple[int, int]] = []
        at = text.find("@")
        while at >= 0:
            found = self._address(text, at)
            if found is not None:
                out.append(found)
            at = text.find("@", at + 1)
        return out

    def _address(self, text: str, at: int) -> tuple[int, int] | None:
        run = _LOCAL_RUN.match(text, 0, at)
        if run is None:
            return None
        start = run.start()
        local = run.group()
        cut = max((m.end() for m in _BAD_QUOTE.finditer(local)), default=0)
        cut = max(cut, local.rfind("..") + 2 if ".." in local else 0)
        while cut < len(local) and local[cut] == ".":
            cut += 1
        if cut == len(local) or local.endswith("."):
            return None
        domain = _DOMAIN.match(text, at + 1)
        if domain is None:
            return None
        labels = domain.group().split(".")
        for last in range(len(labels) - 1, 0, -1):
            if labels[last].lower() in self._tlds:
                end = at + 1 + sum(len(label) + 1 for label in labels[: last + 1]) - 1
                return start + cut, end
        return None
