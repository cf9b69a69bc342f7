"""``POST /v1/responses``: OpenAI's Responses API through the same policy pipeline as chat.

The request is checked, its conversation (``previous_response_id``) read from the store and
the whole turned into a chat completions body *before* the request hooks, so model
allowances, tool permissions, quotas and PII masking see the one shape they know. Then, per
upstream attempt, a deployment that speaks Responses natively gets that body converted back
(``responses_body``) and its answer converted to chat (``chat_from_response``); every other
deployment gets the chat body. The answer goes through the response hooks (PII restored,
tool calls checked) and becomes a ``response`` object or Responses stream events.

A ``file_search`` tool turns one response into a loop of model calls (``_search``): the
model asks for searches, the gateway runs them and calls the model again, at most
``responses.max_file_searches`` times. With ``store`` (the default) the response and its
input items are kept in Postgres for ``GET``, ``input_items`` and later turns.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from gateway.api.http._exchange import Exchange
from gateway.api.http._validation import decode_object
from gateway.api.http.idempotency import HEADER as IDEMPOTENCY_KEY
from gateway.api.openai._serving import (
    OpenAIServing,
    aclose,
    opened,
    required_model,
    stream_error,
)
from gateway.api.openai.responses._background import current_run
from gateway.api.openai.responses._native import (
    chat_from_response,
    chunks_from_events,
    responses_body,
)
from gateway.api.openai.responses._request import (
    RESULTS,
    chat_request,
    input_items,
    native_passthrough,
)
from gateway.api.openai.responses._response import (
    ResponseContext,
    error_code,
    finish_reason,
    incomplete_reason,
    new_id,
    output_from_chat,
)
from gateway.api.openai.responses._search import (
    SEARCH_FUNCTION,
    FileSearchRun,
    StreamedSearches,
    annotate_output,
    client_calls,
    search_tool,
    take_searches,
)
from gateway.api.openai.responses._state import ResponsesBackend, ResponsesState, state_of
from gateway.api.openai.responses._stream import Event, ResponseStream, sse_event
from gateway.api.openai.responses.protocol import (
    InputItem,
    ResponsesRequest,
    check_request,
)
from gateway.platform.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from gateway.policy.auth import Principal
from gateway.policy.pipeline import Call
from gateway.policy.retrieval import find_file_search
from gateway.providers import Target, UpstreamError
from gateway.providers.routing import Deployment, ModelRoute

__all__ = ["ResponsesBackend", "ResponsesServing", "ResponsesState", "state_of"]

_encode = msgspec.json.Encoder().encode
_SSE = b"text/event-stream"


class ResponsesServing(OpenAIServing):
    """The Responses family's serving object (see the module docstring)."""

    defers = True  # background: true is accepted here and run by a worker

    def _backend(self) -> ResponsesBackend:
        backend = self.backend
        if not isinstance(backend, ResponsesBackend):
            raise ServiceUnavailableError("the Responses API is not configured in this process")
        return backend

    async def serve(self, exchange: Exchange, *, principal: Principal | None = None) -> None:
        """With ``Idempotency-Key``, through the gate: a retry replays the first answer."""
        backend = self.backend
        if principal is not None:  # the gateway's own call (no client to retry it)
            await super().serve(exchange, principal=principal)
            return
        if (
            exchange.headers.get(IDEMPOTENCY_KEY) is None
            or not isinstance(backend, ResponsesBackend)
            or backend.idempotency is None
        ):
            await super().serve(exchange)
            return
        await backend.idempotency.serve(
            exchange, super().serve, path=self.path, max_body_bytes=self.max_body_bytes
        )

    # -- the request ----------------------------------------------------------------
    async def prepare(self, call: Call, raw: bytes) -> ModelRoute:
        body = decode_object(raw)
        model = required_model(body)
        request = check_request(body)
        call.model = model
        call.stream = self.wants_stream(body)
        if call.stream and call.headers.get(IDEMPOTENCY_KEY) is not None:
            raise InvalidRequestError(
                "Idempotency-Key cannot be used with stream: true (a stream is not kept to be "
                "replayed); leave out one or the other",
                param="stream",
                code="idempotency_key_with_stream",
            )
        route = self.resolve(call, model)
        backend = self._backend()
        principal = call.principal
        if principal is None:
            raise AuthenticationError("this request was not authenticated")
        history: list[InputItem] = []
        if request.previous_response_id is not None:
            items = await backend.store.conversation(
                request.previous_response_id, principal=principal
            )
            if items is None:
                raise NotFoundError(
                    f"Previous response with id '{request.previous_response_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            history = msgspec.convert(items, list[InputItem])
        run = await self._file_search(call, request, body, backend)
        force_search = (
            isinstance(body.get("tool_choice"), dict)
            and body["tool_choice"].get("type") == "file_search"
        )
        if force_search and run is None:
            raise InvalidRequestError(
                "tool_choice 'file_search' needs a file_search tool in 'tools'",
                param="tool_choice",
            )
        worker_run = current_run()
        background = body.get("background") is True
        if background and worker_run is None:
            self._check_background(call, request, backend)
        call.body = chat_request(request, body, history=history)
        passthrough = native_passthrough(body, request)
        limit = body.get("max_tool_calls")
        searches = backend.settings.max_file_searches
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            searches = min(searches, limit)
        call.put(
            ResponsesState(
                request=request,
                context=ResponseContext(
                    request,
                    body,
                    response_id=worker_run.response_id if worker_run is not None else None,
                    created_at=worker_run.created_at if worker_run is not None else None,
                    background=background,
                ),
                input_items=input_items(body),
                passthrough=passthrough,
                store=request.store is not False,
                file_search=run,
                force_search=force_search,
                max_searches=searches,
                submit=raw if background and worker_run is None else None,
            )
        )
        return route

    def _check_background(
        self, call: Call, request: ResponsesRequest, backend: ResponsesBackend
    ) -> None:
        """What a background request must be, checked before it is accepted (the rest of
        the policy runs on the worker that serves it)."""
        if backend.background is None:
            raise InvalidRequestError(
                "background responses are not available on this gateway", param="background"
            )
        if request.store is False:
            raise InvalidRequestError(
                "background: true needs store: true (the response is kept to be read back)",
                param="store",
                code="background_requires_store",
            )
        principal = call.principal
        assert principal is not None
        if not principal.may_use_model(request.model):
            raise PermissionDeniedError(
                f"this API key may not use model '{request.model}'", param="model"
            )

    # -- background: true ---------------------------------------------------------------
    async def defer(self, call: Call, exchange: Exchange, sent: list[bool]) -> bool:
        """Accept a background request: kept ``queued`` with its run staged; answered with
        that object, or (``stream: true``) with its events as the worker records them."""
        state = state_of(call)
        if state.submit is None:
            return False
        store = self._backend().background
        principal = call.principal
        assert store is not None  # _check_background refused it otherwise
        assert principal is not None
        queued = state.context.response(status="queued", output=[])
        created = sse_event(ResponseStream(state.context).created(queued)) if call.stream else None
        await store.submit(
            queued,
            input_items=state.input_items,
            request=state.submit,
            key_id=principal.key_id,
            created_frame=created,
        )
        call.overhead_s = time.perf_counter() - call.started
        sent[0] = True
        if not call.stream:
            exchange.unwatch()
            await exchange.send_json(200, _encode(queued), self._headers(call))
            return True
        frames = await store.follow(queued["id"], principal=principal, after=-1)
        await exchange.start_stream(200, _SSE, self._headers(call, stream=True))
        call.first_byte_s = time.perf_counter() - call.started
        async for chunk in frames:
            await exchange.send_chunk(chunk)
        exchange.unwatch()
        await exchange.end_stream(b"")
        return True

    async def _file_search(
        self,
        call: Call,
        request: ResponsesRequest,
        body: dict[str, Any],
        backend: ResponsesBackend,
    ) -> FileSearchRun | None:
        tool = find_file_search(body)
        if tool is None:
            return None
        for index, entry in enumerate(body.get("tools") or ()):
            if isinstance(entry, dict) and entry.get("name") == SEARCH_FUNCTION:
                raise InvalidRequestError(
                    f"a function named '{SEARCH_FUNCTION}' cannot be offered beside the "
                    "file_search tool",
                    param=f"tools[{index}].name",
                )
        assert call.principal is not None
        await backend.search.check_readable(call.principal, tool, param="tools")
        return FileSearchRun(
            tool=tool,
            search=backend.search,
            include_results=RESULTS in (request.include or ()),
        )

    # -- one model call ---------------------------------------------------------------
    def _native(self, deployment: Deployment) -> bool:
        return deployment.responses_api == "native" and self._providers.serves(
            deployment.kind, "responses"
        )

    def _upstream(
        self, call: Call, state: ResponsesState, deployment: Deployment, target: Target
    ) -> dict[str, Any]:
        call.deployment = deployment
        upstream = dict(call.body)
        upstream["model"] = target.upstream_model
        if state.extra:
            upstream["messages"] = [*upstream["messages"], *state.extra]
        run = state.file_search
        if run is not None:
            upstream["tools"] = [*upstream.get("tools", ()), search_tool()]
            if state.force_search and not state.extra:
                upstream["tool_choice"] = {
                    "type": "function",
                    "function": {"name": SEARCH_FUNCTION},
                }
            elif state.extra:  # searched: a tool was called, as "required" asked
                choice = upstream.get("tool_choice")
                if _rounds(state) >= state.max_searches and choice in (None, "auto", "required"):
                    upstream["tool_choice"] = "none"  # searched enough: answer now
                elif choice == "required":
                    upstream["tool_choice"] = "auto"
            elif state.max_searches == 0 and upstream.get("tool_choice") in (None, "auto"):
                upstream["tool_choice"] = "none"  # max_tool_calls: 0
        return upstream

    async def _complete(
        self, state: ResponsesState, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        if self._native(deployment):
            native = responses_body(body, passthrough=state.passthrough)
            answer = await self._providers.responses(deployment.kind).responses(target, native)
            return chat_from_response(answer)
        return await self._providers.chat(deployment.kind).chat(target, body)

    def _chunks(
        self, state: ResponsesState, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        body["stream"] = True
        if self._native(deployment):
            native = responses_body(body, passthrough=state.passthrough)
            native.pop("stream_options", None)
            events = self._providers.responses(deployment.kind).stream_responses(target, native)
            return chunks_from_events(events)
        body["stream_options"] = {"include_usage": True}
        return self._providers.chat(deployment.kind).stream_chat(target, body)

    # -- non-streaming ----------------------------------------------------------------
    async def _respond(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = state_of(call)

        async def attempt(deployment: Deployment, target: Target) -> dict[str, Any]:
            return await self._complete(
                state, deployment, target, self._upstream(call, state, deployment, target)
            )

        output: list[dict[str, Any]] = []
        while True:
            completion = await self._router.call(route, attempt, call.trace)
            state.count(call, completion.get("usage"))
            searches, assistant = take_searches(completion)
            await self._pipeline.check_response(call, completion)
            output += output_from_chat(completion)
            if not self._searches_go_on(state, searches, completion):
                break
            state.extra.append(assistant)
            for call_id, arguments in searches:
                item = await self._search(call, state, call_id, arguments)
                output.append(item)
        run = state.file_search
        if run is not None:
            annotate_output(output, run.annotations)
        reason = incomplete_reason(finish_reason(completion))
        response = state.context.response(
            status="incomplete" if reason else "completed",
            output=output,
            model=completion.get("model"),
            usage=state.usage(),
            incomplete_reason=reason,
        )
        await self._keep(call, state, response)
        payload = _encode(response)
        exchange.unwatch()
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        await exchange.send_json(200, payload, self._headers(call))

    def _searches_go_on(
        self,
        state: ResponsesState,
        searches: list[tuple[str, str]],
        completion: dict[str, Any],
    ) -> bool:
        """Whether this model call's searches are run and the model called again."""
        if not searches or state.file_search is None:
            return False
        if _rounds(state) >= state.max_searches:
            return False
        return not client_calls(completion)  # the client's functions come first

    async def _search(
        self, call: Call, state: ResponsesState, call_id: str, arguments: str
    ) -> dict[str, Any]:
        run = state.file_search
        assert run is not None
        messages = [*call.body.get("messages", ()), *state.extra]
        item, result = await run.run(call, arguments, messages=messages)
        state.extra.append({"role": "tool", "tool_call_id": call_id, "content": result})
        return item

    async def _keep(self, call: Call, state: ResponsesState, response: dict[str, Any]) -> None:
        if not state.store:
            return
        run = current_run()
        if run is not None:  # a background run: its runner ends the stored row with it
            run.response = response
            return
        principal = call.principal
        await self._backend().store.save(
            response,
            input_items=state.input_items,
            key_id=principal.key_id if principal else None,
        )

    # -- streaming --------------------------------------------------------------------
    async def _stream(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = state_of(call)
        run = state.file_search
        stream = ResponseStream(state.context, annotate=run.annotations if run else None)

        async def attempt(
            deployment: Deployment, target: Target
        ) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
            upstream = self._upstream(call, state, deployment, target)
            return await opened(self._chunks(state, deployment, target, upstream), target)

        first, chunks = await self._router.call(route, attempt, call.trace)
        hooks = self._pipeline.chunk_hooks(call)
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        try:
            await exchange.start_stream(200, _SSE, self._headers(call, stream=True))
            call.first_byte_s = time.perf_counter() - call.started
            await _send(exchange, stream.start())
            while True:
                searches = StreamedSearches()
                try:
                    chunk: dict[str, Any] | None = first
                    while chunk is not None:
                        _count_chunk(state, call, chunk)
                        if run is not None:
                            searches.take(chunk)
                        if hooks:
                            await self._pipeline.check_chunk(call, chunk, hooks)
                        await _send(exchange, stream.feed(chunk))
                        if call.end_stream:
                            break
                        chunk = await anext(chunks, None)
                finally:
                    await aclose(chunks)
                if call.end_stream or not self._stream_searches_go_on(state, searches):
                    break
                await _send(exchange, stream.close_round())
                state.extra.append(searches.assistant())
                for call_id, arguments in searches.calls:
                    item_id = new_id("fs")
                    await _send(exchange, stream.search_started(item_id))
                    item = await self._search(call, state, call_id, arguments)
                    item["id"] = item_id
                    await _send(exchange, stream.search_done(item))
                first, chunks = await self._router.call(route, attempt, call.trace)
        except (UpstreamError, GatewayError) as exc:
            error = stream_error(exc)
            call.error = error
            call.status = error.status_code
            exchange.unwatch()
            stream.set_usage(state.usage())
            failed = stream.fail(error.message, code=error_code(error.status_code))
            await exchange.end_stream(b"".join(map(sse_event, failed)))
            return
        stream.set_usage(state.usage())
        events = stream.close_all()
        try:
            if stream.response is not None:
                await self._keep(call, state, stream.response)
        except GatewayError as exc:  # answered but not kept: a later turn could not find it
            call.error = exc
            call.status = exc.status_code
            events += stream.fail(f"the response could not be stored: {exc.message}")
        else:
            events.append(stream.end())
        exchange.unwatch()
        await exchange.end_stream(b"".join(map(sse_event, events)))

    def _stream_searches_go_on(self, state: ResponsesState, searches: StreamedSearches) -> bool:
        if not searches.calls or state.file_search is None:
            return False
        if _rounds(state) >= state.max_searches:
            return False
        return not searches.client_calls


def _count_chunk(state: ResponsesState, call: Call, chunk: dict[str, Any]) -> None:
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        state.count(call, usage)


def _rounds(state: ResponsesState) -> int:
    """Model calls that searched so far (one assistant turn each)."""
    return sum(1 for message in state.extra if message.get("role") == "assistant")


async def _send(exchange: Exchange, events: list[Event]) -> None:
    if events:
        await exchange.send_chunk(b"".join(map(sse_event, events)))
