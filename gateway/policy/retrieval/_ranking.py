"""OpenAI's ``ranking_options`` of a search, checked once for every surface that takes them.

``{"ranker": "auto", "score_threshold": 0.2, "hybrid_search": {"embedding_weight": 1,
"text_weight": 0.5}}`` on ``/v1/vector_stores/{id}/search`` and in ``file_search`` tools
(chat and Responses). The gateway has one ranking, reciprocal rank fusion of the vector
and the full-text side, and no second-stage re-ranker: ``auto``, ``default-2024-11-15``
(OpenAI's name of its current ranker) and ``none`` (OpenAI: "disable re-ranking") all run
that fusion. ``hybrid_search`` sets this search's fusion weights in place of the configured
ones; a side weighted 0 is not run. ``score_threshold`` drops hits whose fused score, in
[0, 1], is lower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from gateway.platform.errors import InvalidRequestError
from ingestion.search import HybridWeights

__all__ = ["RANKERS", "Ranking", "parse_ranking_options"]

RANKERS: Final = ("auto", "default-2024-11-15", "none")
_FIELDS: Final = frozenset({"ranker", "score_threshold", "hybrid_search"})
_WEIGHTS: Final = frozenset({"embedding_weight", "text_weight"})


@dataclass(frozen=True, slots=True)
class Ranking:
    """What a search's ``ranking_options`` ask for (the defaults when it has none)."""

    ranker: str = "auto"
    score_threshold: float = 0.0
    weights: HybridWeights | None = None


def parse_ranking_options(options: Any, *, param: str) -> Ranking:
    """``options`` checked; each bad value is a 400 naming its field under ``param``."""
    if options is None:
        return Ranking()
    if not isinstance(options, dict):
        raise InvalidRequestError("ranking_options must be an object", param=param)
    unknown = sorted(set(options) - _FIELDS)
    if unknown:
        raise InvalidRequestError(
            f"unknown field '{unknown[0]}' in ranking_options", param=f"{param}.{unknown[0]}"
        )
    ranker = options.get("ranker")
    if ranker is None:
        ranker = "auto"
    elif ranker not in RANKERS:
        raise InvalidRequestError(
            f"ranker must be one of {', '.join(repr(r) for r in RANKERS)}",
            param=f"{param}.ranker",
        )
    threshold = options.get("score_threshold")
    if threshold is None:
        threshold = 0.0
    elif not _number(threshold) or not 0 <= threshold <= 1:
        raise InvalidRequestError(
            "score_threshold must be a number from 0 to 1", param=f"{param}.score_threshold"
        )
    weights = _weights(options.get("hybrid_search"), f"{param}.hybrid_search")
    return Ranking(str(ranker), float(threshold), weights)


def _weights(value: Any, param: str) -> HybridWeights | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError("hybrid_search must be an object", param=param)
    unknown = sorted(set(value) - _WEIGHTS)
    if unknown:
        raise InvalidRequestError(
            f"unknown field '{unknown[0]}' in hybrid_search", param=f"{param}.{unknown[0]}"
        )
    for name in sorted(_WEIGHTS):
        weight: Any = value.get(name)
        if not _number(weight) or weight < 0:
            raise InvalidRequestError(
                f"{name} must be a number >= 0 (hybrid_search needs both weights)",
                param=f"{param}.{name}",
            )
    embedding, text = float(value["embedding_weight"]), float(value["text_weight"])
    if embedding + text <= 0:
        raise InvalidRequestError(
            "embedding_weight and text_weight must not both be 0", param=param
        )
    return HybridWeights(vector=embedding, text=text)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
