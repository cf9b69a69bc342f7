"""The soak's load driver: mixed OpenAI-API traffic from ``concurrency`` async slots.

Each slot picks its next request by weight (seeded, so a run is repeatable): chat, a chat
stream read to ``[DONE]``, an embedding, a vector store search, a chat with ``file_search``
and an upload (file -> added to the store -> polled to ``completed``). Uploads keep a rolling
window of ``keep_files`` files: beyond it the oldest is removed from the store and deleted, so
the corpus stays the same size and memory is compared at equal data.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.soak._stack import CHAT_MODEL, EMBED_MODEL

__all__ = ["KINDS", "Recorder", "Traffic", "make_document"]

KINDS: dict[str, int] = {  # kind -> weight in the mix
    "chat": 4,
    "chat_stream": 4,
    "embeddings": 3,
    "search": 3,
    "file_search_chat": 2,
    "responses": 2,  # stored (the default), so the Postgres writes are soaked too
    "messages": 2,  # Anthropic's Messages API
    "upload": 1,
}
_TOPICS = (
    "parental leave", "expense reports", "travel policy", "security training",
    "laptop refresh", "on-call rota", "holiday calendar", "pension scheme",
    "office access", "code review", "incident response", "data retention",
)  # fmt: skip


def make_document(rng: random.Random, number: int) -> tuple[str, bytes]:
    """A small generated handbook page (~1.5 KB of Markdown) about one topic."""
    topic = rng.choice(_TOPICS)
    sentences = [
        f"The {topic} rule {number}.{i} applies to team {rng.randint(1, 40)} "
        f"from week {rng.randint(1, 52)} with a limit of {rng.randint(2, 900)} units."
        for i in range(12)
    ]
    text = f"# {topic.title()} ({number})\n\n" + "\n\n".join(
        " ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)
    )
    return f"soak-{number}.md", text.encode()


class UploadFailedError(Exception):
    """An uploaded file did not reach ``completed``."""


@dataclass
class Recorder:
    """Latencies (seconds) and errors per kind, counted only while ``measuring``."""

    measuring: bool = False
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    warmup_requests: int = 0
    warmup_errors: Counter[str] = field(default_factory=Counter)

    def ok(self, kind: str, seconds: float) -> None:
        if self.measuring:
            self.latencies.setdefault(kind, []).append(seconds)
        else:
            self.warmup_requests += 1

    def failed(self, kind: str, exc: BaseException) -> None:
        label = f"{kind}: {_error_kind(exc)}"
        (self.errors if self.measuring else self.warmup_errors)[label] += 1

    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.errors.values())


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    return f"{type(exc).__name__}: {str(exc)[:80]}"


@dataclass
class Traffic:
    """Drives load against one gateway until ``stop`` is set."""

    client: AsyncOpenAI
    store_id: str
    recorder: Recorder
    concurrency: int = 4
    rate: float = 0.0  # requests/s over all slots; 0: as fast as the stack answers
    keep_files: int = 20
    kinds: tuple[str, ...] = tuple(KINDS)  # the part of the mix to send
    seed: int = 1
    _files: deque[str] = field(default_factory=deque)
    _numbers: int = 0

    async def seed_store(self, files: int) -> None:
        """Put ``files`` documents into the store before the clock starts."""
        rng = random.Random(self.seed)
        await asyncio.gather(*(self._upload(rng) for _ in range(files)))

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._slot(i, stop) for i in range(self.concurrency)))

    async def _slot(self, index: int, stop: asyncio.Event) -> None:
        rng = random.Random(self.seed * 1000 + index)
        kinds, weights = list(self.kinds), [KINDS[kind] for kind in self.kinds]
        interval = self.concurrency / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic() + rng.random() * interval
        while not stop.is_set():
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        return
                    except TimeoutError:
                        pass
                next_at = max(next_at + interval, time.monotonic() - interval)
            kind = rng.choices(kinds, weights)[0]
            await self._one(kind, self._operation(kind, rng))

    async def _one(self, kind: str, operation: Callable[[], Awaitable[object]]) -> None:
        started = time.perf_counter()
        try:
            await operation()
        except (openai.OpenAIError, UploadFailedError, ValueError) as exc:
            self.recorder.failed(kind, exc)
        else:
            self.recorder.ok(kind, time.perf_counter() - started)

    def _operation(self, kind: str, rng: random.Random) -> Callable[[], Awaitable[object]]:
        topic = rng.choice(_TOPICS)
        question: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": f"What does the handbook say about {topic}?"}
        ]
        if kind == "chat":
            return lambda: self.client.chat.completions.create(
                model=CHAT_MODEL, messages=question, max_tokens=64
            )
        if kind == "chat_stream":
            return lambda: self._stream(question)
        if kind == "embeddings":
            return lambda: self.client.embeddings.create(model=EMBED_MODEL, input=topic)
        if kind == "search":
            return lambda: self.client.vector_stores.search(
                vector_store_id=self.store_id, query=topic, max_num_results=5
            )
        if kind == "responses":
            text = f"What does the handbook say about {topic}?"
            return lambda: self.client.responses.create(
                model=CHAT_MODEL, input=text, max_output_tokens=64
            )
        if kind == "messages":
            body = {"model": CHAT_MODEL, "max_tokens": 64, "messages": question}
            return lambda: self.client.post(
                "/messages",
                body=body,
                cast_to=object,
                options={"headers": {"anthropic-version": "2023-06-01"}},
            )
        if kind == "file_search_chat":
            tool = {"type": "file_search", "vector_store_ids": [self.store_id]}
            return lambda: self.client.chat.completions.create(
                model=CHAT_MODEL, messages=question, max_tokens=64, extra_body={"tools": [tool]}
            )
        return lambda: self._upload(rng)

    async def _stream(self, messages: list[ChatCompletionMessageParam]) -> None:
        stream = await self.client.chat.completions.create(
            model=CHAT_MODEL,
            messages=messages,
            max_tokens=64,
            stream=True,
        )
        chunks = 0
        async for _ in stream:
            chunks += 1
        if chunks == 0:
            raise ValueError("empty stream")

    async def _upload(self, rng: random.Random) -> None:
        self._numbers += 1
        name, data = make_document(rng, self._numbers)
        uploaded = await self.client.files.create(file=(name, data), purpose="assistants")
        done = await self.client.vector_stores.files.create_and_poll(
            file_id=uploaded.id, vector_store_id=self.store_id, poll_interval_ms=250
        )
        if done.status != "completed":
            code = done.last_error.code if done.last_error else "unknown"
            raise UploadFailedError(f"{done.status} ({code})")
        self._files.append(uploaded.id)
        while len(self._files) > self.keep_files:
            oldest = self._files.popleft()
            await self.client.vector_stores.files.delete(oldest, vector_store_id=self.store_id)
            await self.client.files.delete(oldest)
