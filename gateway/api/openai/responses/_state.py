"""What the Responses serving keeps: its parts beyond every family's (``ResponsesBackend``,
built at start-up) and one request's state beside its chat-shaped body (``ResponsesState``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from configs import ResponsesSettings
from gateway.api.http.idempotency import IdempotencyGate
from gateway.api.openai.responses._background import BackgroundStore
from gateway.api.openai.responses._response import ResponseContext
from gateway.api.openai.responses._search import FileSearchRun
from gateway.api.openai.responses._store import ResponseStore
from gateway.api.openai.responses.protocol import ResponsesRequest
from gateway.policy.pipeline import Call
from gateway.policy.retrieval import StoreSearch

__all__ = ["ResponsesBackend", "ResponsesState", "state_of"]


@dataclass(frozen=True, slots=True)
class ResponsesBackend:
    """What the Responses serving needs beyond every family's parts (built at start-up)."""

    store: ResponseStore
    search: StoreSearch
    settings: ResponsesSettings
    idempotency: IdempotencyGate | None = None  # Idempotency-Key (none: the header is ignored)
    background: BackgroundStore | None = None  # background: true (none: refused)


@dataclass(slots=True)
class ResponsesState:
    """One Responses request, kept in the call beside its chat-shaped ``body``."""

    request: ResponsesRequest
    context: ResponseContext
    input_items: list[dict[str, Any]]
    passthrough: dict[str, Any]
    store: bool
    file_search: FileSearchRun | None
    force_search: bool
    max_searches: int
    submit: bytes | None = None  # background: true, from a client: its body, for a worker
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: list[dict[str, Any]] = field(default_factory=list)  # messages the searches add

    def count(self, call: Call, usage: Any) -> None:
        """Add one model call's usage; ``call.usage`` holds the sum (quotas, the ledger)."""
        if isinstance(usage, dict):
            self.prompt_tokens += _int(usage.get("prompt_tokens"))
            self.completion_tokens += _int(usage.get("completion_tokens"))
        call.usage.prompt_tokens = self.prompt_tokens
        call.usage.completion_tokens = self.completion_tokens

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def state_of(call: Call) -> ResponsesState:
    state = call.find(ResponsesState)
    if state is None:  # prepare() puts it; a missing one is this module's bug
        raise RuntimeError("a Responses call without its state")
    return state


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
