"""Token-sized chunks of one text, in time linear in its length whatever the text holds.

The text is cut at the largest boundaries that give pieces of at most ``max_tokens``:
paragraph breaks, then sentence ends, clause punctuation, whitespace, and last fixed
character windows; the pieces are then packed greedily into chunks, each starting with up
to ``overlap_tokens`` of the previous one's last pieces (as llama-index's SentenceSplitter
packs its splits).

It replaces SentenceSplitter because that one's cost grows with the number of pieces it
makes: text without whitespace falls through to one piece (and one tokenizer call) per
character, and ``a a a`` or ``a.a.a`` to one per word, several microseconds each (a 40 MB
line took minutes), and its nltk sentence step gives up with a TimeoutError on ``a. a. a.``.
Here each level joins cut points closer than ``min_chars`` (no piece is tiny), boundaries
are found by patterns that never backtrack over a run, and a text is tokenized at most
once per level.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Span", "split_text"]

# Boundaries, largest first; a piece ends where a match ends. Lookbehinds of one or two
# characters and possessive runs keep every search linear.
_SENTENCE_END = ".!?\u2026"  # and the ellipsis
_CLOSING = "\"')\\]\u201d\u2019"  # quotes and brackets that may follow a sentence end
_CJK_SENTENCE_END = "\u3002\uff01\uff1f"  # full stop, exclamation and question marks
_CLAUSE = ",;:\uff0c\uff1b\uff1a\u3001"  # ASCII and full-width, and the ideographic comma
_LEVELS = (
    re.compile(r"\n[ \t\r\f\v]*+\n\s*+"),  # blank lines (elements are joined by them)
    re.compile(
        f"(?<=[{_SENTENCE_END}])\\s++|(?<=[{_SENTENCE_END}][{_CLOSING}])\\s++"
        f"|(?<=[{_CJK_SENTENCE_END}])"
    ),
    re.compile(f"(?<=[{_CLAUSE}])\\s*+"),
    re.compile(r"\s++"),  # words
)
_MAX_BYTES_PER_CHAR = 4  # UTF-8: a character is at most 4 byte-level tokens
_COUNTED_CHARS_PER_TOKEN = 8  # longer pieces are split without counting their tokens
_SCAN_CHARS = 256 * 1024  # searched between two ticks


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` (whitespace trimmed) holding ``tokens`` tokens."""

    start: int
    end: int
    tokens: int


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    tokens: int


def split_text(
    text: str,
    *,
    max_tokens: int,
    overlap_tokens: int,
    count: Callable[[str], int],
    tick: Callable[[], None],
) -> list[Span]:
    """Chunks of ``text`` as spans. ``count`` gives a string's tokens; ``tick`` is called
    between steps (it may raise to stop the work: a time limit, a cancelled file)."""
    pieces = _Pieces(text, max_tokens=max_tokens, count=count, tick=tick).cut()
    return _pack(text, pieces, max_tokens=max_tokens, overlap_tokens=overlap_tokens, count=count)


class _Pieces:
    def __init__(
        self, text: str, *, max_tokens: int, count: Callable[[str], int], tick: Callable[[], None]
    ) -> None:
        self._text = text
        self._max = max_tokens
        self._count = count
        self._tick = tick
        # A window this short fits whatever its characters; no boundary is closer.
        self._min_chars = max(1, max_tokens // _MAX_BYTES_PER_CHAR)
        self._countable = max_tokens * _COUNTED_CHARS_PER_TOKEN
        self._out: list[_Piece] = []

    def cut(self) -> list[_Piece]:
        self._cut(0, len(self._text), 0)
        return self._out

    def _cut(self, start: int, end: int, level: int) -> None:
        self._tick()
        if end - start <= self._countable:
            tokens = self._count(self._text[start:end])
            if tokens <= self._max:
                self._out.append(_Piece(start, end, tokens))
                return
        if level == len(_LEVELS):
            self._windows(start, end)
            return
        pattern = _LEVELS[level]
        at = start
        while at < end:
            stop = self._next_cut(pattern, min(at + self._min_chars, end), end)
            if at == start and stop == end:
                self._cut(start, end, level + 1)  # no boundary of this level: a finer one
                return
            self._cut(at, stop, level + 1)
            at = stop

    def _next_cut(self, pattern: re.Pattern[str], start: int, end: int) -> int:
        """Where the first boundary at or after ``start`` ends (``end`` if none), searched
        a stretch at a time so that ``tick`` is called during a long scan too."""
        at = start
        while at < end:
            stretch = min(end, at + _SCAN_CHARS)
            match = pattern.search(self._text, at, stretch)
            if match is not None:
                return match.end()
            self._tick()
            at = stretch
        return end

    def _windows(self, start: int, end: int) -> None:
        step = self._min_chars
        for at in range(start, end, step):
            self._tick()
            stop = min(at + step, end)
            self._out.append(_Piece(at, stop, self._count(self._text[at:stop])))


def _pack(
    text: str,
    pieces: list[_Piece],
    *,
    max_tokens: int,
    overlap_tokens: int,
    count: Callable[[str], int],
) -> list[Span]:
    spans: list[Span] = []
    first = 0
    while first < len(pieces):
        last, total = first, 0
        while last < len(pieces) and total + pieces[last].tokens <= max_tokens:
            total += pieces[last].tokens
            last += 1
        last = max(last, first + 1)
        span = _span(text, pieces[first].start, pieces[last - 1].end, count)
        # Tokens do not add up exactly across a cut; drop pieces until the text fits.
        while span is not None and span.tokens > max_tokens and last - first > 1:
            last -= 1
            span = _span(text, pieces[first].start, pieces[last - 1].end, count)
        if span is not None:
            spans.append(span)
        if last == len(pieces):
            break
        first = _overlap_start(pieces, first, last, max_tokens, overlap_tokens)
    return spans


def _overlap_start(
    pieces: list[_Piece], first: int, last: int, max_tokens: int, overlap_tokens: int
) -> int:
    """Where the chunk after ``pieces[first:last]`` starts: its last pieces up to
    ``overlap_tokens``, fewer if the next piece would not fit with them; always past
    ``first`` so that every chunk moves on."""
    start, carried = last, 0
    while start - 1 > first and carried + pieces[start - 1].tokens <= overlap_tokens:
        start -= 1
        carried += pieces[start].tokens
    while start < last and carried + pieces[last].tokens > max_tokens:
        carried -= pieces[start].tokens
        start += 1
    return start


def _span(text: str, start: int, end: int, count: Callable[[str], int]) -> Span | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    return Span(start, start + len(stripped), count(stripped))
