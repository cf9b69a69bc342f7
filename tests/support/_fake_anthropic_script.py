"""What a test scripts the fake Anthropic to answer (``Reply``, ``ErrorReply`` and the content
blocks of a reply) and what the fake records of each request (``RecordedRequest``)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ErrorReply",
    "RecordedRequest",
    "RedactedThinking",
    "Reply",
    "Text",
    "Thinking",
    "ToolUse",
]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Thinking:
    """Extended thinking; the API requires it back, signature unchanged, in a tool loop."""

    thinking: str
    signature: str = "sig-fake-0001"


@dataclass(frozen=True)
class RedactedThinking:
    data: str


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A successful answer, sent as JSON or (for ``stream: true``) as SSE events."""

    content: tuple[Text | ToolUse | Thinking | RedactedThinking, ...] = (
        Text("Hello from fake Anthropic."),
    )
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    input_tokens: int = 11
    output_tokens: int = 7
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    message_id: str = "msg_fake01"
    delta_chars: int = 4  # text_delta / partial_json fragment size
    first_byte_delay_s: float = 0.0
    event_delay_s: float = 0.0
    invalid_json: bool = False  # a body (or, streaming, the 3rd event) that is not JSON
    reset_after_events: int | None = None  # RST the connection after this many events
    error_after_events: int | None = None  # send an ``error`` event after this many events
    end_after_events: int | None = None  # end the body cleanly (no message_stop) after these
    error_type: str = "overloaded_error"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error answer in Anthropic's error shape."""

    status: int
    error_type: str
    message: str = "fake error"
    retry_after: str | None = None
    echo_headers: bool = False  # append the request's headers (x-api-key included) to message
    echo_prompt: bool = False  # append the last user message to message


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_closed: threading.Event = field(default_factory=threading.Event)
    stream_completed: bool = False

    @property
    def json(self) -> Any:
        return json.loads(self.body)
