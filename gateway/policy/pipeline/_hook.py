"""The hook contract: one small class per concern, run in stage order for every API call.

A hook overrides only the methods it needs:

- ``on_request(call)``: before the provider. May change ``call.body``; a ``GatewayError``
  refuses the request (its status and message go to the client).
- ``on_response(call, response)``: a complete non-streaming response before it is sent; may
  change it in place or raise a ``GatewayError`` to replace it with an error.
- ``on_chunk(call, chunk)``: each streamed chunk before it is sent; may change it. An error
  ends the stream with an error event; setting ``call.end_stream`` ends it cleanly after this
  chunk, then ``[DONE]``.
- ``on_end(call)``: always, once ``on_request`` ran, after the response or the failure
  (``call.error``, ``call.status``); for usage and counters. Its errors are logged, never sent.
- ``span_attributes(call)``: with tracing on, what the step just did, for its span (or None:
  nothing, no span).

``policy = True`` hooks fail closed (any exception refuses the request; an unexpected one is a
500); ``policy = False`` hooks are observers whose exceptions are logged and swallowed.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

from gateway.policy.pipeline._call import Call

__all__ = ["Hook", "Stage"]


class Stage(IntEnum):
    """Where a hook runs; hooks of one stage run in registration order."""

    AUTH = 100  # who is calling (runs before the body is parsed)
    POLICY = 200  # may this key do this (models, tools, collections)
    QUOTA = 300  # rate limits and budgets
    PII = 400  # redaction of what goes upstream
    # -- the provider is called here --
    RESPONSE = 600  # checks of what came back
    USAGE = 700  # accounting
    OBSERVE = 800  # observers


class Hook:
    """Base class of pipeline hooks: every method is a no-op."""

    name: ClassVar[str] = "hook"
    stage: ClassVar[Stage] = Stage.OBSERVE
    policy: ClassVar[bool] = True

    async def on_request(self, call: Call) -> None:
        """Before the provider call; raise ``GatewayError`` to refuse."""

    async def on_response(self, call: Call, response: dict[str, Any]) -> None:
        """A complete non-streaming response, before it is sent."""

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        """One streamed chunk, before it is sent."""

    def wants_chunks(self, call: Call) -> bool:
        """Whether ``on_chunk`` has work on this call's stream (asked once, at its start).

        A stream of a few hundred chunks would otherwise call every hook for every chunk."""
        return True

    async def on_end(self, call: Call) -> None:
        """After the response was sent or the request failed."""

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        """With tracing on, after ``on_request`` / ``on_response`` ran: what this step did,
        as its span's attributes (counts and names, never values); None: it did nothing
        here, and no span is recorded."""
        return {}
