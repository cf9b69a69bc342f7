"""``Call``: everything the pipeline knows about one API request, passed through every hook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.platform.errors import GatewayError
from gateway.policy.auth import Principal
from gateway.policy.pipeline._capabilities import NO_CAPABILITIES, Capabilities
from gateway.providers.routing import Deployment, ModelRoute, RouteTrace

__all__ = ["Call", "Endpoint", "Usage"]

_S = TypeVar("_S")

# A family's name: "chat.completions", "completions", "embeddings", "models", or a new
# family's; stored as the usage rows' ``endpoint`` and the metrics' ``route`` label.
Endpoint = str


@dataclass(slots=True)
class Usage:
    """Tokens as the upstream reported them (0 until known).

    ``estimated``: the gateway counted them itself (a stream that ended before the upstream's
    usage report: what reached the client, characters over ``chars_per_token``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    def add_from(self, usage: Any) -> None:
        """Take ``usage`` from a response or stream chunk, if it is one."""
        if isinstance(usage, dict):
            prompt = usage.get("prompt_tokens")
            completion = usage.get("completion_tokens")
            if isinstance(prompt, int):
                self.prompt_tokens = prompt
            if isinstance(completion, int):
                self.completion_tokens = completion


@dataclass(slots=True, eq=False)
class Call:
    """One API request on its way through the pipeline.

    Hooks read and write it: ``body`` is the decoded request (a plain dict, exactly as the
    client sent it; a hook may rewrite it, e.g. to redact); ``principal`` is set by the auth
    hook; ``route`` is the resolved model alias; ``deployment`` and ``usage`` are known once
    the upstream answered; ``response_headers`` are added to the client's response;
    ``capabilities`` is what the endpoint's family declares the policy steps do for it.

    A hook keeps its per-request state as an object of its own class: ``put(state)``, then
    ``find(StateClass)`` (one dict lookup by class). What one policy step offers another
    without importing it is a field here (``remask``, ``restore``, ``protect_texts``).
    """

    request_id: str
    endpoint: Endpoint
    started: float
    token: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    principal: Principal | None = None
    body: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    route: ModelRoute | None = None
    stream: bool = False
    deployment: Deployment | None = None
    usage: Usage = field(default_factory=Usage)
    trace: RouteTrace = field(default_factory=RouteTrace)
    status: int = 200
    error: GatewayError | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    state: dict[type[Any], object] = field(default_factory=dict)  # put / find, by class
    first_byte_s: float | None = None  # streams: seconds from start to the first chunk sent
    overhead_s: float | None = None  # the gateway's own time up to the response start
    # streams: chunks hooks add (e.g. citations) to be sent after the upstream's last one,
    # before [DONE]
    trailing_chunks: list[dict[str, Any]] = field(default_factory=list)
    # streams: set by an on_chunk hook to make the chunk it checks the last one sent (e.g. a
    # budget used up); the upstream is closed, then trailing_chunks and [DONE] follow
    end_stream: bool = False
    capabilities: Capabilities = NO_CAPABILITIES
    # with tracing on: (trace id, span id) of the request's server span, hex (the access log
    # and metric exemplars are recorded after the span has ended)
    trace_ids: tuple[str, str] | None = None
    # set by the PII step: a restored text in the form the upstream saw (values masked again)
    remask: Callable[[str], str] | None = None
    # set by the PII step: an answer's text with the request's values back in place of their
    # placeholders (for text the gateway acts on itself, e.g. a model's search queries)
    restore: Callable[[str], str] | None = None
    # set by the PII step: more outgoing text of this request masked with its placeholders
    # (e.g. passages a search found after the request hooks ran)
    protect_texts: Callable[[Sequence[str]], Awaitable[list[str]]] | None = None

    def put(self, state: object) -> None:
        """Keep a hook's state for this request, under its class (replacing one kept before)."""
        self.state[type(state)] = state

    def find(self, kind: type[_S]) -> _S | None:
        """The state of class ``kind`` a hook kept with ``put``, or None."""
        # put() keys each state by its own class, so what is under ``kind`` is a ``kind``
        # (no cast(): it is a call, and this runs a few times per request and chunk)
        return self.state.get(kind)  # type: ignore[return-value]
