"""The CPU server's logic: validate a request, build prompts, run generations, embed.

Built once at start with its models, scheduler and metrics injected; the routes only turn
HTTP into calls on it. Model code never runs on the event loop: prompts are tokenized and
texts embedded in worker threads, and generation runs on the scheduler's thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from inference.embedders import Embedder
from inference.errors import RequestError
from inference.generation import CausalModel, GenerationEvent, SamplingParams, Scheduler
from inference.server._metrics import ServerMetrics
from inference.server._protocol import ChatMessage, ChatRequest, CompletionRequest
from inference.server._stream import GenerationStream

__all__ = ["InferenceService", "ModelNotFoundError", "StartedGeneration"]


class ModelNotFoundError(RequestError):
    """The request names a model this server does not serve."""


@dataclass(frozen=True, slots=True)
class StartedGeneration:
    stream: GenerationStream
    model: str
    include_usage: bool


class InferenceService:
    """Chat, completions and embeddings over the models loaded from the manifest."""

    def __init__(
        self,
        *,
        generators: Mapping[str, CausalModel],
        embedders: Mapping[str, Embedder],
        scheduler: Scheduler,
        metrics: ServerMetrics,
    ) -> None:
        self._generators = dict(generators)
        self._embedders = dict(embedders)
        self.scheduler = scheduler
        self.metrics = metrics

    def models(self) -> list[dict[str, Any]]:
        """``/v1/models`` entries, with each model's context length as vLLM reports it."""
        listed = [
            {"id": name, "max_model_len": model.context_length}
            for name, model in self._generators.items()
        ]
        listed += [{"id": name, "max_model_len": None} for name in self._embedders]
        return [{"object": "model", "owned_by": "ragway", "created": 0, **m} for m in listed]

    async def start_chat(self, request: ChatRequest) -> StartedGeneration:
        model = self._generator(request.model)
        _refuse_unsupported(request)
        messages = [_message(m, i) for i, m in enumerate(request.messages)]
        if not messages:
            raise RequestError("messages must hold at least one message", param="messages")
        prompt = await anyio.to_thread.run_sync(model.chat_prompt, messages)
        limit = request.max_completion_tokens or request.max_tokens
        params = _sampling(request, model, [prompt], limit, "messages")
        return self._start(model, [prompt], params, request)

    async def start_completion(self, request: CompletionRequest) -> StartedGeneration:
        model = self._generator(request.model)
        _refuse_unsupported(request)
        if request.echo or request.suffix is not None or (request.best_of or 1) > 1:
            raise RequestError("echo, suffix and best_of are not supported", param="prompt")
        raw = [request.prompt] if isinstance(request.prompt, str) else request.prompt
        if raw and all(isinstance(t, int) for t in raw):
            prompts = [[int(t) for t in raw]]
            if max(prompts[0]) >= model.vocab_size or min(prompts[0]) < 0:
                raise RequestError("prompt holds token ids outside the vocabulary", param="prompt")
        else:
            if not raw or not all(isinstance(t, str) for t in raw):
                raise RequestError(
                    "prompt must be a string, a list of strings or a list of token ids",
                    param="prompt",
                )
            texts = [str(t) for t in raw]
            prompts = await anyio.to_thread.run_sync(lambda: [model.encode(t) for t in texts])
        params = _sampling(request, model, prompts, request.max_tokens, "prompt")
        return self._start(model, prompts, params, request)

    def _start(
        self,
        model: CausalModel,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        request: ChatRequest | CompletionRequest,
    ) -> StartedGeneration:
        def on_finish(event: GenerationEvent) -> None:
            self.metrics.finished(model.name, event)

        stream = GenerationStream(self.scheduler, model, prompts, params, on_finish)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return StartedGeneration(stream, model.name, include_usage)

    async def embed(self, model_name: str, texts: list[str]) -> tuple[list[list[float]], int]:
        """Normalised vectors and the prompt tokens they cost."""
        embedder = self._embedders.get(model_name)
        if embedder is None:
            if model_name in self._generators:
                raise RequestError(
                    f"model {model_name!r} generates text; it has no embeddings", param="model"
                )
            raise _not_found(model_name)
        vectors, tokens = await anyio.to_thread.run_sync(
            lambda: (embedder.embed(texts), embedder.count_tokens(texts))
        )
        self.metrics.tokens.labels(model_name, "prompt").inc(sum(tokens))
        return vectors, sum(tokens)

    def embedding_dimension(self, model_name: str) -> int:
        embedder = self._embedders.get(model_name)
        if embedder is None:
            raise _not_found(model_name)
        return embedder.dimension

    def _generator(self, name: str) -> CausalModel:
        model = self._generators.get(name)
        if model is not None:
            return model
        if name in self._embedders:
            raise RequestError(f"model {name!r} is an embedding model; it does not generate")
        raise _not_found(name)


def _not_found(name: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"The model `{name}` does not exist.", param="model", code="model_not_found"
    )


def _refuse_unsupported(request: ChatRequest | CompletionRequest) -> None:
    """OpenAI options this server cannot honour are refused by name, never ignored."""
    unsupported: list[str] = []
    if (request.n or 1) != 1:
        unsupported.append("n")
    if request.logprobs not in (None, False):
        unsupported.append("logprobs")
    if request.presence_penalty or request.frequency_penalty:
        unsupported.append("presence_penalty" if request.presence_penalty else "frequency_penalty")
    if isinstance(request, ChatRequest):
        if request.tools or request.tool_choice not in (None, "none"):
            unsupported.append("tools")
        if request.top_logprobs:
            unsupported.append("top_logprobs")
        if request.response_format and request.response_format.get("type") != "text":
            unsupported.append("response_format")
    if unsupported:
        raise RequestError(
            f"{unsupported[0]} is not supported by the CPU inference server", param=unsupported[0]
        )


def _message(message: ChatMessage, index: int) -> dict[str, Any]:
    where = f"messages[{index}]"
    if message.role == "tool" or message.tool_calls:
        raise RequestError(
            "tool messages are not supported by the CPU inference server", param=where
        )
    content = message.content
    if isinstance(content, list):
        texts: list[str] = []
        for part_index, part in enumerate(content):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise RequestError(
                    f"content part type {part.get('type')!r} is not supported (text only)",
                    param=f"{where}.content[{part_index}]",
                )
            texts.append(part["text"])
        content = "".join(texts)
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "content": content or ""}


def _sampling(
    request: ChatRequest | CompletionRequest,
    model: CausalModel,
    prompts: Sequence[Sequence[int]],
    max_tokens: int | None,
    prompt_param: str,
) -> SamplingParams:
    temperature = 1.0 if request.temperature is None else request.temperature
    top_p = 1.0 if request.top_p is None else request.top_p
    if not 0 <= temperature <= 2:
        raise RequestError("temperature must be between 0 and 2", param="temperature")
    if not 0 < top_p <= 1:
        raise RequestError("top_p must be greater than 0 and at most 1", param="top_p")
    if max_tokens is not None and max_tokens < 1:
        raise RequestError("max_tokens must be at least 1", param="max_tokens")
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise RequestError("stop takes up to 4 non-empty strings", param="stop")
    longest = max(len(p) for p in prompts)
    room = model.context_length - longest
    wanted = room if max_tokens is None else max_tokens
    if room < 1 or wanted > room:
        raise RequestError(
            f"This model's maximum context length is {model.context_length} tokens. However, "
            f"you requested {longest + wanted} tokens ({longest} in the {prompt_param}, "
            f"{wanted} in the completion). Please reduce the length of the {prompt_param} "
            "or completion.",
            param=prompt_param,
            code="context_length_exceeded",
        )
    return SamplingParams(
        max_tokens=wanted,
        temperature=temperature,
        top_p=top_p,
        seed=request.seed,
        stop=tuple(stop),
        ignore_eos=bool(request.ignore_eos),
        logit_bias=_logit_bias(request.logit_bias, model.vocab_size),
    )


def _logit_bias(raw: Mapping[str, float] | None, vocab_size: int) -> dict[int, float]:
    bias: dict[int, float] = {}
    for key, value in (raw or {}).items():
        if not key.isdigit() or int(key) >= vocab_size:
            raise RequestError(f"logit_bias key {key!r} is not a token id", param="logit_bias")
        if not -100 <= value <= 100:
            raise RequestError("logit_bias values must be between -100 and 100", param="logit_bias")
        bias[int(key)] = value
    return bias
