"""Two hooks answer a chat request's ``file_search`` tool inside the gateway.

``RetrievalHook`` (POLICY, so quotas count the added context and PII masks it): checks the
key may read every store named (403), searches them for the latest user turn, adds the
passages that fit the context window as numbered sources in a system message, and takes the
tool out of what goes upstream. ``CitationHook`` (RESPONSE, after PII restored the text):
``file_citation`` annotations for the markers in the answer, on the message or, streaming,
as a final chunk per choice before ``[DONE]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gateway.platform.errors import AuthenticationError
from gateway.policy.pipeline import Call, Hook, Stage
from gateway.policy.retrieval._citations import annotate
from gateway.policy.retrieval._context import Budget, Source, context_message, fit_sources
from gateway.policy.retrieval._stores import StoreSearch
from gateway.policy.retrieval._tool import find_file_search, without_file_search

__all__ = ["CitationHook", "RetrievalHook"]

HEADER = "x-ragway-file-search"


@dataclass(slots=True)
class RetrievalState:
    """What ``RetrievalHook`` found for a request (kept in the call), cited by ``CitationHook``."""

    sources: list[Source]
    streamed: dict[int, list[str]] = field(default_factory=dict)  # streams: text per choice
    stores: int = 0  # vector stores searched
    found: int = 0  # passages the search returned (``sources``: those that fit)


class RetrievalHook(Hook):
    name: ClassVar[str] = "retrieval"
    stage: ClassVar[Stage] = Stage.POLICY

    def __init__(self, search: StoreSearch) -> None:
        self._search = search

    async def on_request(self, call: Call) -> None:
        if not call.capabilities.retrieval:
            return
        tool = find_file_search(call.body)
        if tool is None:
            return
        principal = call.principal
        if principal is None:
            raise AuthenticationError("this request was not authenticated")
        param = "tools.vector_store_ids"
        await self._search.check_readable(principal, tool, param=param)
        query = _latest_user_text(call.body)
        hits = await self._search.search(tool, query, param=param) if query else []
        body = without_file_search(call.body)
        budget = self._budget(call)
        sources = fit_sources(hits, budget.available(body), budget)
        body["messages"] = _with_context(body["messages"], context_message(sources))
        call.body = body
        call.put(RetrievalState(sources, stores=len(tool.vector_store_ids), found=len(hits)))
        call.response_headers[HEADER] = f"found={len(hits)}; used={len(sources)}"

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        state = call.find(RetrievalState)
        if state is None:
            return None
        return {
            "ragway.retrieval.stores": state.stores,
            "ragway.retrieval.hits": state.found,
            "ragway.retrieval.used": len(state.sources),
        }

    def _budget(self, call: Call) -> Budget:
        settings = self._search.settings
        window = (call.route.context_window if call.route else None) or (
            settings.default_context_window
        )
        completion = call.body.get("max_completion_tokens") or call.body.get("max_tokens")
        if not isinstance(completion, int):
            completion = settings.reserve_completion_tokens
        return Budget(window, completion, settings.chars_per_token)


class CitationHook(Hook):
    """Annotations for the sources cited in the answer (see the module docstring)."""

    name: ClassVar[str] = "citations"
    stage: ClassVar[Stage] = Stage.RESPONSE
    policy: ClassVar[bool] = False  # an answer without annotations beats no answer

    async def on_response(self, call: Call, response: dict[str, Any]) -> None:
        state = call.find(RetrievalState)
        if state is None:
            return
        for choice in response.get("choices") or ():
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                text = message.get("content") if isinstance(message.get("content"), str) else ""
                message["annotations"] = [
                    *(message.get("annotations") or ()),
                    *annotate(text or "", state.sources),
                ]

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        return {} if call.find(RetrievalState) is not None else None

    def wants_chunks(self, call: Call) -> bool:
        return call.find(RetrievalState) is not None

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        state = call.find(RetrievalState)
        if state is None:
            return
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = int(choice.get("index") or 0)
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                state.streamed.setdefault(index, []).append(delta["content"])
            if choice.get("finish_reason"):
                text = "".join(state.streamed.pop(index, []))
                call.trailing_chunks.append(_annotation_chunk(chunk, index, text, state))


def _latest_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content.strip()
        if isinstance(content, list):
            texts = [p["text"] for p in content if isinstance(p, dict) and _is_text(p)]
            return " ".join(texts).strip()
        return ""
    return ""


def _is_text(part: dict[str, Any]) -> bool:
    return part.get("type") == "text" and isinstance(part.get("text"), str)


def _with_context(messages: list[Any], context: dict[str, Any]) -> list[Any]:
    """The messages with ``context`` after the leading system/developer instructions."""
    leading = 0
    while (
        leading < len(messages)
        and isinstance(messages[leading], dict)
        and messages[leading].get("role") in ("system", "developer")
    ):
        leading += 1
    return [*messages[:leading], context, *messages[leading:]]


def _annotation_chunk(
    finishing: dict[str, Any], index: int, text: str, state: RetrievalState
) -> dict[str, Any]:
    """The extra chunk carrying one choice's annotations, sent after the upstream's last."""
    return {
        "id": finishing.get("id"),
        "object": "chat.completion.chunk",
        "created": finishing.get("created"),
        "model": finishing.get("model"),
        "choices": [
            {
                "index": index,
                "delta": {"annotations": annotate(text, state.sources)},
                "finish_reason": None,
            }
        ],
    }
