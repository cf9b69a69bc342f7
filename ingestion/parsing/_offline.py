"""unstructured without network: no telemetry, and a blank spaCy pipeline for its tokenizer.

unstructured's tokenizer downloads spaCy's ``en_core_web_sm`` on first use; offline that
fails (DOCX, HTML and Markdown raise, PDF silently yields nothing). A blank English pipeline
with a sentencizer gives it sentences and tokens. It has no part-of-speech tagger, so
unstructured's narrative-text heuristic sees no verbs; ragway therefore decides what is a
heading itself (``_sections.looks_like_heading``) instead of trusting every ``Title``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ingestion.errors import IngestionError

__all__ = ["prepare_unstructured"]

_lock = threading.Lock()


def prepare_unstructured() -> None:
    """Idempotent; call before the first partition in a process."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    with _lock:
        import unstructured.nlp.tokenize

        tokenize: Any = unstructured.nlp.tokenize

        if getattr(tokenize, "_ragway_offline", False):
            return
        if not callable(getattr(tokenize, "_get_nlp", None)):
            raise IngestionError(
                "this unstructured release has no unstructured.nlp.tokenize._get_nlp; "
                "the offline spaCy set-up in ingestion/parsing/_offline.py needs updating"
            )
        nlp = _blank_pipeline()
        # unstructured resolves _get_nlp through its module on every call, so this one
        # assignment replaces the download for every partitioner.
        tokenize._get_nlp = lambda: nlp
        tokenize._ragway_offline = True


def _blank_pipeline() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
