"""PII redaction: Presidio's recognizers, run fast, with mask / redact / block / allow.

``PiiService`` is built once per process; each request gets a ``PiiSession`` that masks the
text going upstream and restores masked values in the answer (whole or streamed).
"""

from __future__ import annotations

from gateway.policy.pii._analyzer import Finding, PiiAnalyzer
from gateway.policy.pii._errors import (
    PiiBlockedError,
    PiiError,
    PiiPolicyError,
    PiiUncheckableError,
)
from gateway.policy.pii._hook import PiiHook
from gateway.policy.pii._policy import PiiPolicy, PolicyResolver, Trust
from gateway.policy.pii._presidio import PresidioSetup, build_presidio, reference_analyzer
from gateway.policy.pii._restore import ChunkRestorer, TextRestorer, restore_response
from gateway.policy.pii._service import PiiService, PiiSession
from gateway.policy.pii._vault import PLACEHOLDER, PlaceholderVault, redaction_marker

__all__ = [
    "PLACEHOLDER",
    "ChunkRestorer",
    "Finding",
    "PiiAnalyzer",
    "PiiBlockedError",
    "PiiError",
    "PiiHook",
    "PiiPolicy",
    "PiiPolicyError",
    "PiiService",
    "PiiSession",
    "PiiUncheckableError",
    "PlaceholderVault",
    "PolicyResolver",
    "PresidioSetup",
    "TextRestorer",
    "Trust",
    "build_presidio",
    "redaction_marker",
    "reference_analyzer",
    "restore_response",
]
