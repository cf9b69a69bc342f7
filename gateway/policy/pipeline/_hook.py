"""The hook contract: one small class per concern, run in stage order for every API call.

A hook overrides only the methods it needs:

- ``on_request(call)``: before the provider is called. Raise a ``GatewayError`` to refuse
  the request (its status and message go to the client). May change ``call.body``.
- ``on_response(call, response)``: a complete non-streaming response before it is sent.
  May change ``response`` in place or raise a ``GatewayError`` to replace it by an error.
- ``on_chunk(call, chunk)``: each streamed chunk before it is sent. May change it; an error
  ends the stream with an error event (bytes already sent cannot be taken back). Setting
  ``call.end_stream`` ends it cleanly instead: this chunk is the last, then ``[DONE]``.
- ``on_end(call)``: after the response was sent or the request failed (``call.error``,
  ``call.status``). For settling usage and counters. Always called for a call whose
  ``on_request`` ran; its errors are logged and never reach the client.

``policy = True`` hooks fail closed: any exception they raise refuses the request (an
unexpected one as a 500). ``policy = False`` hooks are observers: whatever they raise is
logged and swallowed, and the request goes on.
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
