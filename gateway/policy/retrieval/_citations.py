"""Citation markers in an answer (``[1]``, ``[2, 3]``) turned into ``file_citation`` annotations.

Each annotation names the cited passage (file id, filename, chunk id, search score) and the
marker's position in the message content (``start_index`` / ``end_index``, in characters).
Numbers that name no source are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.policy.retrieval._context import Source

__all__ = ["annotate", "cited"]

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def cited(text: str, sources: Sequence[Source]) -> Iterator[tuple[re.Match[str], Source]]:
    """(marker, source) for each source a marker in ``text`` names, in order of appearance."""
    by_number = {s.number: s for s in sources}
    for match in _MARKER.finditer(text):
        for number in (int(n) for n in match.group(1).split(",")):
            source = by_number.get(number)
            if source is not None:
                yield match, source


def annotate(text: str, sources: Sequence[Source]) -> list[dict[str, Any]]:
    """One annotation per cited source per marker, in order of appearance (chat's shape)."""
    annotations: list[dict[str, Any]] = []
    for match, source in cited(text, sources):
        number = source.number
        hit = source.hit
        annotations.append(
            {
                "type": "file_citation",
                "file_citation": {
                    "file_id": hit.file_id,
                    "filename": hit.filename,
                    "chunk_id": hit.chunk_id,
                    "vector_store_id": hit.vector_store_id,
                    "score": hit.score,
                    "source": number,
                    "start_index": match.start(),
                    "end_index": match.end(),
                },
            }
        )
    return annotations
