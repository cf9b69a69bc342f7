"""Citation markers in an answer (``[1]``, ``[2, 3]``) turned into ``file_citation`` annotations.

Each annotation names the cited passage (file id, filename, chunk id, search score) and the
marker's position in the message content (``start_index`` / ``end_index``, in characters).
Numbers that name no source are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gateway.policy.retrieval._context import Source

__all__ = ["annotate"]

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def annotate(text: str, sources: Sequence[Source]) -> list[dict[str, Any]]:
    """One annotation per cited source per marker, in order of appearance."""
    by_number = {s.number: s for s in sources}
    annotations: list[dict[str, Any]] = []
    for match in _MARKER.finditer(text):
        for number in (int(n) for n in match.group(1).split(",")):
            source = by_number.get(number)
            if source is None:
                continue
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
