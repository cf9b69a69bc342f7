"""``Capabilities``: what the policy steps do for an endpoint family, declared by the family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["NO_CAPABILITIES", "Capabilities", "PiiOutput"]

# Where an answer carries the text the PII step restores: a chat ``message`` (``delta`` in a
# stream: content, refusal, tool calls) or a completion choice's ``text``.
PiiOutput = Literal["message", "text"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Read by hooks as ``call.capabilities`` instead of comparing endpoint names.

    ``pii``: the PII step checks the body by these field rules (a row of ``FIELDS`` in
    ``gateway.policy.pii._request``, named so the family need not import the PII step);
    None: it does not; ``pii_output``: where answers carry text to restore; ``tools``: tool
    permissions and the tool-call guard apply; ``retrieval``: file_search may run;
    ``answer_tokens``: the quota reserves tokens for an answer.
    """

    pii: str | None = None
    pii_output: PiiOutput = "message"
    tools: bool = False
    retrieval: bool = False
    answer_tokens: bool = True


NO_CAPABILITIES = Capabilities()
