"""``Capabilities``: what the policy steps do for an endpoint family, declared by the family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["NO_CAPABILITIES", "Capabilities"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Read by hooks as ``call.capabilities`` instead of comparing endpoint names.

    ``pii``: the PII step checks the body (with its field rules for the family's name);
    ``pii_output``: where answers carry text to restore (``message``/``delta`` or ``text``);
    ``tools``: tool permissions and the tool-call guard apply; ``retrieval``: file_search
    may run; ``answer_tokens``: the quota reserves tokens for an answer.
    """

    pii: bool = False
    pii_output: Literal["message", "text"] = "message"
    tools: bool = False
    retrieval: bool = False
    answer_tokens: bool = True


NO_CAPABILITIES = Capabilities()
