"""Settings of the PII step: which entities are looked for and what happens to each."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from configs._strict import Strict

__all__ = ["PiiAction", "PiiNlpSettings", "PiiPolicySettings", "PiiSettings"]

PiiAction = Literal["mask", "redact", "block", "allow"]


class PiiPolicySettings(Strict):
    """What happens to each entity type: ``default`` unless ``entities`` names it."""

    default: PiiAction = "mask"
    entities: dict[str, PiiAction] = Field(default_factory=dict)


class PiiNlpSettings(Strict):
    """The NLP engine behind the NER entities (PERSON, LOCATION, ...).

    ``pattern``: no NLP model; NER entities are inactive (a warning at start names them).
    ``spacy``: the spaCy pipeline ``model`` (an installed package name or a path); when it is
    not installed the gateway falls back to ``pattern`` with the same warning. Nothing is
    downloaded.
    """

    engine: Literal["pattern", "spacy"] = "pattern"
    model: str = "en_core_web_lg"


class PiiSettings(Strict):
    """The PII step in front of providers (Presidio analyzer, in-process)."""

    enabled: bool = True
    language: str = "en"
    entities: tuple[str, ...] = (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "US_SSN",
        "PERSON",
        "LOCATION",
    )
    score_threshold: float = Field(default=0.0, ge=0, le=1)
    nlp: PiiNlpSettings = PiiNlpSettings()
    external: PiiPolicySettings = PiiPolicySettings(default="mask")
    local: PiiPolicySettings = PiiPolicySettings(default="allow")
    policies: dict[str, PiiPolicySettings] = Field(
        default_factory=dict,
        description="named policies an API key may select (its pii_policy); "
        "'mask', 'redact', 'block' and 'allow' need no definition",
    )
    embeddings_input: bool = Field(default=True, description="check embeddings input too")
    offload_chars: int = Field(
        default=4096, ge=0, description="requests with more text are analysed in a thread"
    )
    cache_entries: int = Field(
        default=8192, ge=0, description="analysed text windows remembered per process"
    )
