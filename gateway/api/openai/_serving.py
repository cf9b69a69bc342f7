"""The serving core shared by the OpenAI POST endpoints.

One call: read the body -> AUTH hooks -> decode and check the body -> resolve the model
alias -> the other request hooks -> the router (fallback, breakers) -> response hooks ->
the response (JSON, or SSE chunks then ``[DONE]``) -> ``on_end`` hooks, metrics, access log.
Each endpoint family subclasses it with its provider operation; its ``Family`` (an entry
of the endpoint table, ``gateway.api.openai._table``) gives the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from gateway.api.http._asgi import AsgiExchange, Receive, Scope, Send
from gateway.api.http._busy_poll import BusyPoll
from gateway.api.http._exchange import Exchange
from gateway.api.http._validation import decode_object, validate
from gateway.platform import tracing
from gateway.platform.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    UpstreamFailedError,
    error_body,
)
from gateway.policy.auth import Principal, request_key
from gateway.policy.observability import REQUEST_ID, RequestObserver, accept_request_id
from gateway.policy.pipeline import NO_CAPABILITIES, Call, Capabilities, Pipeline
from gateway.providers import (
    ProviderCapability,
    ProviderRegistry,
    Target,
    UpstreamError,
    UpstreamProtocolError,
)
from gateway.providers.routing import Deployment, ModelRoute, Router

__all__ = [
    "CLIENT_CLOSED",
    "Family",
    "OpenAIServing",
    "aclose",
    "error_bytes",
    "opened",
    "required_model",
]

_log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
_SSE = b"text/event-stream"
_DONE = b"data: [DONE]\n\n"
CLIENT_CLOSED = 499  # nginx's convention for "the client went away", in logs and metrics


class MethodNotAllowedError(GatewayError):
    status_code = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


@dataclass(frozen=True, slots=True)
class Family:
    """What the routes, the HTTP front's fast lane, the OpenAPI document, the serving object
    and the policy steps know about one endpoint family.

    ``name`` is ``Call.endpoint`` (the usage rows' ``endpoint``, the metrics' ``route``);
    ``provider_capability`` is what a deployment's adapter must offer to serve it.
    """

    name: str
    path: str  # POST only
    request_model: type[msgspec.Struct]  # checks the body; its schema is the OpenAPI one
    serving: type[OpenAIServing]
    provider_capability: ProviderCapability
    summary: str  # OpenAPI
    description: str  # OpenAPI: the 200 answer
    capabilities: Capabilities = NO_CAPABILITIES
    model_type: Literal["chat", "embedding"] = "chat"
    streams: bool = True

    @property
    def operation_id(self) -> str:
        """``v1_chat_completions``: the route's name and its OpenAPI operation id."""
        return self.path.strip("/").replace("/", "_")


class OpenAIServing:
    """Built once per process for its family; ``handle`` is the ASGI entry of one endpoint."""

    def __init__(
        self,
        *,
        family: Family,
        pipeline: Pipeline,
        router: Router,
        providers: ProviderRegistry,
        observer: RequestObserver,
        max_body_bytes: int,
        overhead_header: bool = True,
        busy_poll: BusyPoll | None = None,
        backend: object | None = None,
    ) -> None:
        self.family = family
        self.backend = backend  # what the family's serving needs beyond these (its own type)
        self.endpoint = family.name
        self.path = family.path
        self.request_model = family.request_model
        self.model_type = family.model_type
        self.can_stream = family.streams
        self._capabilities = family.capabilities
        self._needs = family.provider_capability
        self._pipeline = pipeline
        self._router = router
        self._providers = providers
        self._observer = observer
        self._max_body = max_body_bytes
        self._overhead_header = overhead_header
        self._busy_poll = busy_poll or BusyPoll(0.0)
        self._tracer = tracing.tracer()  # None: tracing off (set up before the servings)
        self._span_name = f"POST {self.path}"
        # the aliases this family can serve, decided once: the routes are fixed at start-up
        self._servable = frozenset(
            route
            for route in router.routes.values()
            if route.type == self.model_type and all(map(self.supports, route.deployments))
        )

    # -- what endpoint families provide -----------------------------------------
    def supports(self, deployment: Deployment) -> bool:
        return self._providers.serves(deployment.kind, self._needs)

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def stream_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        raise NotImplementedError

    # -- the entries ----------------------------------------------------------------
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry (Litestar's route)."""
        await self.serve(AsgiExchange(scope, receive, send))

    @property
    def max_body_bytes(self) -> int:
        return self._max_body

    async def serve(self, exchange: Exchange, *, principal: Principal | None = None) -> None:
        """Serve one exchange to the end; never raises but for a cancelled task.

        ``principal``: a request the gateway makes itself on a key's behalf (a batch line,
        a background response), authenticated already; never set from anything a client sent.
        """
        self._busy_poll.request_arrived()
        started = time.perf_counter()
        headers = exchange.headers
        call = Call(
            request_id=accept_request_id(headers.get("x-request-id")),
            endpoint=self.endpoint,
            started=started,
            token=request_key(headers),
            headers=headers,
            capabilities=self._capabilities,
            principal=principal,
        )
        context = REQUEST_ID.set(call.request_id)
        self._observer.started(self.endpoint)
        sent = [False]  # response started
        span = self._start_span(call) if self._tracer is not None else None
        try:
            if exchange.method != "POST":
                raise MethodNotAllowedError(f"{exchange.method} is not allowed on {self.path}")
            raw = await exchange.read_body(self._max_body)
            exchange.watch()
            await self._pipeline.authenticate(call)
            route = await self.prepare(call, raw)
            if self.defers and await self.defer(call, exchange, sent):
                return
            await self._pipeline.check_request(call)
            if call.stream:
                await self._stream(call, route, exchange, sent)
            else:
                await self._respond(call, route, exchange, sent)
        except GatewayError as exc:
            call.error = exc
            call.status = exc.status_code
            exchange.unwatch()
            if not sent[0]:
                await self._send_error(call, exchange, exc)
        except Exception:  # noqa: BLE001 - the boundary: logged, answered in OpenAI's shape
            # (Postgres down is already a 503 here: hooks are where requests touch it.)
            _log.exception("unexpected error serving %s", self.path)
            error = GatewayError("internal server error", code="internal_error")
            call.error = error
            call.status = error.status_code
            exchange.unwatch()
            if not sent[0]:
                await self._send_error(call, exchange, error)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not exchange.disconnected or task is None:
                raise
            task.uncancel()
            call.status = CLIENT_CLOSED
        finally:
            exchange.unwatch()
            try:
                await self._pipeline.finish(call)
            finally:
                if span is not None:
                    self._end_span(call, *span)
                self._observer.finished(call, time.perf_counter())
                REQUEST_ID.reset(context)

    def _start_span(self, call: Call) -> tuple[tracing.Span, object]:
        """The request's server span (continuing a client's ``traceparent``), made current."""
        assert self._tracer is not None
        span, token = tracing.start_server_span(
            self._tracer,
            self._span_name,
            call.headers,
            {
                "http.request.method": "POST",
                "http.route": self.path,
                "url.path": self.path,
                "gen_ai.operation.name": tracing.OPERATIONS.get(self.endpoint, self.endpoint),
                "ragway.request_id": call.request_id,
            },
        )
        call.trace.operation = tracing.OPERATIONS.get(self.endpoint, self.endpoint)
        if tracing.captures_content():
            call.trace.output = []
        ids = span.get_span_context()
        if ids.is_valid and ids.trace_flags.sampled:  # a dropped span is never exported
            call.trace_ids = (format(ids.trace_id, "032x"), format(ids.span_id, "016x"))
        return span, token

    def _end_span(self, call: Call, span: tracing.Span, token: object) -> None:
        tracing.deactivate(token)
        usage = call.usage
        attempt = call.trace.span
        if attempt is not None:  # the attempt that answered: what it answered
            answered: dict[str, Any] = {
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
            }
            if call.trace.response_model:
                answered["gen_ai.response.model"] = call.trace.response_model
            if call.trace.finish_reasons:
                answered["gen_ai.response.finish_reasons"] = call.trace.finish_reasons
            if call.stream and call.first_byte_s is not None:
                answered["ragway.time_to_first_chunk_s"] = call.first_byte_s
            if call.trace.output is not None:  # capture_content: the text the upstream saw
                answered["gen_ai.input.messages"] = _json_text(call.body.get("messages"))
                answered["gen_ai.output.messages"] = _json_text(call.trace.output)
            attempt.set_attributes(answered)
            tracing.end_span(attempt)
        principal = call.principal
        span.set_attributes(
            {
                "http.response.status_code": call.status,
                "gen_ai.request.model": call.model or "",
                "ragway.deployment": call.trace.deployment or "",
                "ragway.attempts": call.trace.attempts,
                "ragway.stream": call.stream,
                "ragway.key_id": principal.key_id if principal is not None else "",
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
            }
        )
        error = call.error
        failed = call.status >= 500
        tracing.end_span(
            span,
            error=(error.code if error is not None else str(call.status)) if failed else None,
            message=error.message if failed and error is not None else None,
        )

    # -- steps ----------------------------------------------------------------------
    async def prepare(self, call: Call, raw: bytes) -> ModelRoute:
        """The body checked into ``call`` (``body``, ``model``, ``stream``, ``route``), before
        the request hooks; a family that must look things up first (stored state) overrides it."""
        return self._parse(call, raw)

    # A family that hands some requests to a worker (background responses) sets ``defers``
    # and answers those in ``defer`` (True): the policy then runs where the work is done.
    defers = False

    async def defer(self, call: Call, exchange: Exchange, sent: list[bool]) -> bool:
        """Answer ``call`` now and leave its work to a worker; False: serve it here."""
        return False

    def _parse(self, call: Call, raw: bytes) -> ModelRoute:
        body = decode_object(raw)
        model = required_model(body)
        validate(body, self.request_model)
        call.body = body
        call.model = model
        call.stream = self.wants_stream(body)
        return self.resolve(call, model)

    def wants_stream(self, body: dict[str, Any]) -> bool:
        stream = body.get("stream") is True
        if stream and not self.can_stream:
            raise InvalidRequestError(f"{self.path} does not stream", param="stream")
        return stream

    def resolve(self, call: Call, model: str) -> ModelRoute:
        """The alias's route, if this family can serve it (404 / 400 otherwise)."""
        route = self._router.get(model)
        if route is None:
            raise NotFoundError(
                f"The model '{model}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        if route not in self._servable:
            raise InvalidRequestError(
                f"model '{model}' cannot serve {self.path} (it is a {route.type} model"
                + ("" if route.type != self.model_type else " whose provider lacks this API")
                + ")",
                param="model",
                code="model_not_supported",
            )
        call.route = route
        return route

    async def _respond(
        self,
        call: Call,
        route: ModelRoute,
        exchange: Exchange,
        sent: list[bool],
    ) -> None:

        async def attempt(deployment: Deployment, target: Target) -> dict[str, Any]:
            upstream = _upstream_body(call, deployment, target)
            return await self.call_upstream(deployment, target, upstream)

        response = await self._router.call(route, attempt, call.trace)
        call.usage.add_from(response.get("usage"))
        if self._tracer is not None:
            tracing.note_answer(call.trace, response)
        await self._pipeline.check_response(call, response)
        payload = _encode(response)
        exchange.unwatch()
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        await exchange.send_json(200, payload, self._headers(call))

    async def _stream(
        self,
        call: Call,
        route: ModelRoute,
        exchange: Exchange,
        sent: list[bool],
    ) -> None:
        options = call.body.get("stream_options")
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True

        async def attempt(
            deployment: Deployment, target: Target
        ) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
            upstream = _upstream_body(call, deployment, target)
            # Always ask for usage (for quotas, metrics and the log); dropped below if the
            # client did not ask for it.
            upstream["stream_options"] = {**(options or {}), "include_usage": True}
            return await opened(self.stream_upstream(deployment, target, upstream), target)

        first, chunks = await self._router.call(route, attempt, call.trace)
        try:
            hooks = self._pipeline.chunk_hooks(call)
            if hooks:
                await self._pipeline.check_chunk(call, first, hooks)
            call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
            sent[0] = True
            await exchange.start_stream(200, _SSE, self._headers(call, stream=True))
            call.first_byte_s = time.perf_counter() - call.started
            chunk: dict[str, Any] | None = first
            try:
                while chunk is not None:
                    usage = chunk.get("usage")
                    if usage:
                        call.usage.add_from(usage)
                    if self._tracer is not None:
                        tracing.note_answer(call.trace, chunk)
                    if wants_usage or usage is None or chunk.get("choices"):
                        if hooks and chunk is not first:
                            await self._pipeline.check_chunk(call, chunk, hooks)
                        await exchange.send_chunk(b"data: " + _encode(chunk) + b"\n\n")
                        if call.end_stream:  # a hook ended it (e.g. the budget is used up)
                            break
                    chunk = await anext(chunks, None)
            except (UpstreamError, GatewayError) as exc:
                error = stream_error(exc)
                call.error = error
                call.status = error.status_code
                exchange.unwatch()
                await exchange.end_stream(b"data: " + error_bytes(error) + b"\n\n")
                return
        finally:
            await aclose(chunks)
        for extra in call.trailing_chunks:
            await exchange.send_chunk(b"data: " + _encode(extra) + b"\n\n")
        exchange.unwatch()
        await exchange.end_stream(_DONE)

    def _headers(self, call: Call, *, stream: bool = False) -> list[tuple[str, str]]:
        headers = [("x-request-id", call.request_id)]
        if stream:
            headers.append(("cache-control", "no-cache"))
        if self._overhead_header and call.overhead_s is not None:
            headers.append(("x-ragway-overhead-ms", f"{call.overhead_s * 1000:.3f}"))
        if call.response_headers:
            headers.extend(call.response_headers.items())
        return headers

    async def _send_error(self, call: Call, exchange: Exchange, exc: GatewayError) -> None:
        headers = self._headers(call)
        headers.extend(exc.headers.items())
        await exchange.send_json(exc.status_code, error_bytes(exc), headers)


def _json_text(value: Any) -> str:
    return _encode(value).decode() if value is not None else ""


def required_model(body: dict[str, Any]) -> str:
    """The body's ``model``: checked first, as everything after depends on it."""
    model = body.get("model")
    if isinstance(model, str):
        return model
    if model is None:
        raise InvalidRequestError(
            "Missing required parameter: 'model'.",
            param="model",
            code="missing_required_parameter",
        )
    raise InvalidRequestError(
        "Invalid type for 'model': expected a string.", param="model", code="invalid_type"
    )


def error_bytes(exc: GatewayError) -> bytes:
    return _encode(error_body(exc.message, exc.error_type, param=exc.param, code=exc.code))


def _upstream_body(call: Call, deployment: Deployment, target: Target) -> dict[str, Any]:
    """The client's body for one attempt: a shallow copy with the upstream's model name."""
    call.deployment = deployment
    upstream = dict(call.body)
    upstream["model"] = target.upstream_model
    return upstream


def stream_error(exc: UpstreamError | GatewayError) -> GatewayError:
    """What a stream that broke after its start tells the client (and the log)."""
    if isinstance(exc, GatewayError):
        return exc
    return UpstreamFailedError(f"the stream broke off: {exc.message}")


async def opened(
    chunks: AsyncIterator[dict[str, Any]], target: Target
) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
    """The stream's first chunk, and the stream: a stream that ends at once is an upstream
    fault (the router may fall back); on any error the stream is closed."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        raise UpstreamProtocolError(
            f"{target.deployment} ended the stream before its first chunk",
            deployment=target.deployment,
        ) from None
    except BaseException:
        await aclose(chunks)
        raise
    return first, chunks


async def aclose(iterator: AsyncIterator[Any]) -> None:
    """Close a chunk iterator (an async generator): ends the upstream request."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
