"""The CPU server's HTTP surface: thin Litestar routes over ``InferenceService``."""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Stream

from inference.errors import InferenceError, RequestError, ServerBusyError
from inference.server._protocol import (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    decode_request,
)
from inference.server._responses import Completion, usage
from inference.server._service import InferenceService, ModelNotFoundError, StartedGeneration

__all__ = ["create_inference_app"]

_log = logging.getLogger(__name__)
_JSON = "application/json"


def create_inference_app(
    service: InferenceService, *, on_shutdown: Sequence[Callable[[], None]] = ()
) -> Litestar:
    """The OpenAI-compatible app; ``on_shutdown`` runs when the server stops."""

    @get("/health", sync_to_thread=False)
    def health() -> Response[bytes]:
        return Response(b"", status_code=200)

    @get("/metrics", sync_to_thread=False)
    def metrics() -> Response[bytes]:
        return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @get("/v1/models", sync_to_thread=False)
    def list_models() -> Response[bytes]:
        return _json({"object": "list", "data": service.models()})

    @get("/v1/models/{model_id:path}", sync_to_thread=False)
    def get_model(model_id: FromPath[str]) -> Response[bytes]:
        for model in service.models():
            if model["id"] == model_id.lstrip("/"):
                return _json(model)
        raise ModelNotFoundError(
            f"The model `{model_id.lstrip('/')}` does not exist.", param="model"
        )

    @post("/v1/chat/completions")
    async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
        body = decode_request(await request.body(), ChatRequest)
        started = await service.start_chat(body)
        return await _respond(started, "chat", bool(body.stream), request)

    @post("/v1/completions")
    async def completions(request: Request[Any, Any, Any]) -> Response[Any]:
        body = decode_request(await request.body(), CompletionRequest)
        started = await service.start_completion(body)
        return await _respond(started, "text", bool(body.stream), request)

    @post("/v1/embeddings")
    async def embeddings(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = decode_request(await request.body(), EmbeddingRequest)
        texts = [body.input] if isinstance(body.input, str) else body.input
        if not texts or not all(isinstance(t, str) for t in texts):
            raise RequestError(
                "input must be a string or a non-empty list of strings", param="input"
            )
        if body.dimensions is not None and body.dimensions != service.embedding_dimension(
            body.model
        ):
            raise RequestError(
                f"model {body.model!r} returns {service.embedding_dimension(body.model)} "
                "dimensions and cannot shorten them",
                param="dimensions",
            )
        vectors, tokens = await service.embed(body.model, [str(t) for t in texts])
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        return _json(
            {"object": "list", "data": data, "model": body.model, "usage": usage(tokens, 0)}
        )

    def shutdown() -> None:
        for hook in on_shutdown:
            hook()

    return Litestar(
        route_handlers=[health, metrics, list_models, get_model, chat, completions, embeddings],
        exception_handlers={Exception: _error_response},
        on_shutdown=[shutdown],
        openapi_config=None,
        logging_config=None,  # configs.configure_logging owns logging
        request_max_body_size=16 * 1024 * 1024,
    )


async def _respond(
    started: StartedGeneration, kind: str, stream: bool, request: Request[Any, Any, Any]
) -> Response[Any]:
    completion = Completion(
        "chat" if kind == "chat" else "text", started.model, started.include_usage
    )
    if stream:
        return Stream(_sse(started, completion), media_type="text/event-stream")
    consume = asyncio.ensure_future(_collect(started, completion))
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({consume, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not consume.done():  # the client left: stop generating for it
            started.stream.cancel()
            consume.cancel()
    if not consume.done():
        return Response(b"", status_code=499)
    await consume
    return _json(completion.whole())


async def _collect(started: StartedGeneration, completion: Completion) -> None:
    async for index, event in started.stream.events():
        if event.error is not None:
            raise InferenceError("generation failed") from event.error
        completion.add(index, event)


async def _client_gone(request: Request[Any, Any, Any]) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _sse(started: StartedGeneration, completion: Completion) -> AsyncIterator[bytes]:
    try:
        if completion.kind == "chat":
            for index in range(len(started.stream.generations)):
                yield _event(completion.first_chunk(index))
        async for index, event in started.stream.events():
            if event.error is not None:
                yield _event(_error_body("generation failed", "server_error", None, None))
                return
            completion.add(index, event)
            if event.text or event.finish_reason is not None:
                yield _event(completion.chunk(index, event))
        if completion.include_usage:
            yield _event(completion.usage_chunk())
        yield b"data: [DONE]\n\n"
    finally:
        started.stream.cancel()  # a no-op once finished; stops generation when the client left


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


def _json(body: Any, status_code: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(body), media_type=_JSON, status_code=status_code)


def _error_body(message: str, kind: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error_response(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Every error in OpenAI's shape, with the status codes the openai SDK maps."""
    if isinstance(exc, ModelNotFoundError):
        body, status = _error_body(exc.message, "invalid_request_error", exc.param, exc.code), 404
    elif isinstance(exc, RequestError):
        body, status = _error_body(exc.message, "invalid_request_error", exc.param, exc.code), 400
    elif isinstance(exc, ServerBusyError):
        body, status = _error_body(str(exc), "server_error", None, "server_busy"), 503
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        body = _error_body(exc.detail, "invalid_request_error", None, None)
        status = exc.status_code
    else:
        _log.error("request failed", exc_info=exc)
        body, status = _error_body("the inference server failed", "server_error", None, None), 500
    return _json(body, status)
