"""Presidio, set up once per process and fully offline.

The analyzer's recognizers come from Presidio's own default registry. Two things differ from
``AnalyzerEngine()``: the NLP engine is chosen from configuration and never downloaded (no
spaCy model installed: the ``no_op`` engine, and the NER entities are inactive), and the email
recognizer validates domains with a ``tldextract`` instance that uses its bundled suffix list
instead of fetching one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from configs import PiiSettings

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer
    from presidio_analyzer.nlp_engine import NlpEngine

__all__ = ["PresidioSetup", "build_presidio", "reference_analyzer"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PresidioSetup:
    """Recognizers per configured entity, and the NLP engine where one is active."""

    language: str
    recognizers: tuple[EntityRecognizer, ...]  # pattern recognizers for active entities
    ner_recognizers: tuple[EntityRecognizer, ...]  # need NLP artifacts (empty: pattern-only)
    nlp_engine: NlpEngine  # no_op when pattern-only
    active: tuple[str, ...]
    inactive: tuple[str, ...]

    @property
    def uses_nlp(self) -> bool:
        return bool(self.ner_recognizers)


@contextmanager
def _light_import(active: bool) -> Iterator[None]:
    """Import Presidio without torch and transformers when no NLP model is used.

    ``presidio_analyzer`` imports its Hugging Face NLP engine eagerly, which pulls in
    transformers and torch (seconds, hundreds of MB) even for pattern recognizers; it treats
    transformers as optional, so hiding both while it is first imported keeps the gateway
    process free of them. Later imports of torch elsewhere are unaffected.
    """
    hidden = [m for m in ("torch", "transformers") if active and m not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes "import name" fail
    quiet = logging.getLogger("presidio-analyzer")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its registry warns about every non-English recognizer
    try:
        import presidio_analyzer  # noqa: F401

        yield
    finally:
        quiet.setLevel(level)
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _offline_email_recognizer(language: str) -> EntityRecognizer:
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio's email recognizer; its domain check uses the bundled suffix list."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(extractor(pattern_text).fqdn != "")

    recognizer: EntityRecognizer = OfflineEmailRecognizer(supported_language=language)
    return recognizer


def _spacy_model(settings: PiiSettings) -> str | None:
    """The configured spaCy model if it is installed (never downloaded), else None."""
    if settings.nlp.engine != "spacy":
        return None
    import spacy

    model = settings.nlp.model
    if spacy.util.is_package(model) or Path(model).exists():
        return model
    _log.warning("PII: spaCy model %r is not installed; running pattern recognizers only", model)
    return None


def _nlp_engine(settings: PiiSettings) -> tuple[NlpEngine, bool]:
    """The configured NLP engine, or ``no_op`` when its model is not installed."""
    language = settings.language
    model = _spacy_model(settings)
    with _light_import(model is None):
        from presidio_analyzer.nlp_engine import NlpEngineProvider

    if model is not None:
        config: dict[str, Any] = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": model}],
        }
        return NlpEngineProvider(nlp_configuration=config).create_engine(), True
    config = {
        "nlp_engine_name": "no_op",
        "models": [{"lang_code": language, "model_name": "no_op"}],
    }
    return NlpEngineProvider(nlp_configuration=config).create_engine(), False


def _registry(settings: PiiSettings, nlp_engine: NlpEngine) -> Any:
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    registry = RecognizerRegistry(supported_languages=[settings.language])
    with _light_import(False):
        registry.load_predefined_recognizers(languages=[settings.language], nlp_engine=nlp_engine)
    registry.recognizers = [
        _offline_email_recognizer(r.supported_language) if isinstance(r, EmailRecognizer) else r
        for r in registry.recognizers
    ]
    return registry


def build_presidio(settings: PiiSettings) -> PresidioSetup:
    """Load the recognizers for the configured entities; warn about the inactive ones."""
    nlp_engine, nlp_active = _nlp_engine(settings)
    registry = _registry(settings, nlp_engine)
    wanted = set(settings.entities)
    pattern: list[EntityRecognizer] = []
    ner: list[EntityRecognizer] = []
    found: set[str] = set()
    for recognizer in registry.get_recognizers(language=settings.language, all_fields=True):
        entities = wanted.intersection(recognizer.supported_entities)
        if not entities:
            continue
        if not recognizer.is_loaded:
            recognizer.load()
            recognizer.is_loaded = True
        found.update(entities)
        needs_nlp = type(recognizer).__name__ in {"SpacyRecognizer", "StanzaRecognizer"}
        (ner if needs_nlp and nlp_active else pattern).append(recognizer)
    inactive = tuple(entity for entity in settings.entities if entity not in found)
    if inactive:
        _log.warning(
            "PII: no recognizer is active for %s (%s); these entity types are not detected",
            ", ".join(inactive),
            "no NLP model installed" if not nlp_active else "not supported by the model",
        )
    active = tuple(entity for entity in settings.entities if entity in found)
    return PresidioSetup(
        language=settings.language,
        recognizers=tuple(pattern),
        ner_recognizers=tuple(ner),
        nlp_engine=nlp_engine,
        active=active,
        inactive=inactive,
    )


def reference_analyzer(settings: PiiSettings) -> AnalyzerEngine:
    """A plain ``AnalyzerEngine`` over the same default recognizers: the yardstick."""
    from presidio_analyzer import AnalyzerEngine

    nlp_engine, _ = _nlp_engine(settings)
    return AnalyzerEngine(
        registry=_registry(settings, nlp_engine),
        nlp_engine=nlp_engine,
        supported_languages=[settings.language],
    )
