"""Wire shapes of the Batch API: the create body, the ``batch`` object, and the input lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ENDPOINTS",
    "BatchRow",
    "CreateBatch",
    "InputLine",
    "LineError",
    "batch_object",
    "parse_input",
]

# What a batch line may call: the endpoint families a batch runs through.
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses")


class CreateBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_file_id: str = Field(min_length=1, max_length=64)
    endpoint: Literal["/v1/chat/completions", "/v1/embeddings", "/v1/responses"]
    completion_window: Literal["24h"]
    metadata: dict[str, str] | None = Field(default=None, max_length=16)


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A ``batches`` row."""

    id: str
    key_id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
    metadata: dict[str, str] | None
    errors: list[dict[str, Any]] | None
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None
    created_at: datetime
    expires_at: datetime
    in_progress_at: datetime | None
    finalizing_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    expired_at: datetime | None
    cancelling_at: datetime | None
    cancelled_at: datetime | None


def _seconds(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


def batch_object(row: BatchRow) -> dict[str, Any]:
    """OpenAI's ``batch`` object."""
    return {
        "id": row.id,
        "object": "batch",
        "endpoint": row.endpoint,
        "errors": None if not row.errors else {"object": "list", "data": row.errors},
        "input_file_id": row.input_file_id,
        "completion_window": row.completion_window,
        "status": row.status,
        "output_file_id": row.output_file_id,
        "error_file_id": row.error_file_id,
        "created_at": _seconds(row.created_at),
        "in_progress_at": _seconds(row.in_progress_at),
        "expires_at": _seconds(row.expires_at),
        "finalizing_at": _seconds(row.finalizing_at),
        "completed_at": _seconds(row.completed_at),
        "failed_at": _seconds(row.failed_at),
        "expired_at": _seconds(row.expired_at),
        "cancelling_at": _seconds(row.cancelling_at),
        "cancelled_at": _seconds(row.cancelled_at),
        "request_counts": {
            "total": row.total,
            "completed": row.completed,
            "failed": row.failed,
        },
        "metadata": row.metadata,
    }


@dataclass(frozen=True, slots=True)
class InputLine:
    """One request of the input file; ``body`` is its JSON text, stored as it came."""

    line: int
    custom_id: str
    body: str


@dataclass(frozen=True, slots=True)
class LineError:
    """Why the input file was refused, in OpenAI's ``errors.data`` shape."""

    code: str
    message: str
    line: int | None = None
    param: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "param": self.param, "line": self.line}


_MAX_ERRORS = 20


def parse_input(
    data: bytes, *, endpoint: str, max_lines: int
) -> tuple[list[InputLine], list[LineError]]:
    """The file's lines, or the first errors (line numbers 1-based, as OpenAI reports them).

    Each line is ``{"custom_id", "method": "POST", "url": <the batch's endpoint>, "body"}``;
    custom ids are unique; a body may not ask to stream.
    """
    lines: list[InputLine] = []
    errors: list[LineError] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        if len(errors) >= _MAX_ERRORS:
            break
        if not raw.strip():
            continue
        problem = _check_line(raw, number, endpoint, seen)
        if isinstance(problem, LineError):
            errors.append(problem)
            continue
        lines.append(InputLine(len(lines), problem[0], problem[1]))
        if len(lines) > max_lines:
            errors.append(
                LineError("too_many_requests", f"a batch holds at most {max_lines} requests")
            )
            break
    if not lines and not errors:
        errors.append(LineError("empty_file", "the input file holds no requests"))
    return lines, errors


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    """A line as it should be: its body kept as text, not parsed (``msgspec.Raw``)."""

    custom_id: str
    method: str
    url: str
    body: msgspec.Raw


class _Body(msgspec.Struct):
    """What a line's body is checked for (a JSON object; its other fields are skipped)."""

    stream: Any = None


_decode_line = msgspec.json.Decoder(_Line).decode
_decode_body = msgspec.json.Decoder(_Body).decode


def _check_line(
    raw: bytes, number: int, endpoint: str, seen: set[str]
) -> tuple[str, str] | LineError:
    """``(custom_id, body as JSON text)`` or the line's error. Lines of the expected shape
    are read by msgspec without building their bodies; any other line goes through
    ``_fields``, which names what is wrong."""
    try:
        item = _decode_line(raw)
        stream = _decode_body(item.body).stream
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _fields(raw, number, endpoint, seen)
    problem = _checked(item.custom_id, item.method, item.url, stream, number, endpoint, seen)
    if problem is not None:
        return problem
    seen.add(item.custom_id)
    return item.custom_id, bytes(item.body).decode()


def _fields(raw: bytes, number: int, endpoint: str, seen: set[str]) -> tuple[str, str] | LineError:
    try:
        item = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        return LineError("invalid_json_line", "this line is not JSON", number)
    if not isinstance(item, dict):
        return LineError("invalid_json_line", "each line must be a JSON object", number)
    custom_id, method, url, body = (item.get(k) for k in ("custom_id", "method", "url", "body"))
    unknown = set(item) - {"custom_id", "method", "url", "body"}
    if unknown:
        return LineError("invalid_request", f"unknown field {sorted(unknown)[0]!r}", number)
    if not isinstance(custom_id, str):
        return LineError("missing_required_parameter", "custom_id: 1 to 512 characters", number)
    stream = body.get("stream") if isinstance(body, dict) else None
    problem = _checked(custom_id, method, url, stream, number, endpoint, seen)
    if problem is not None:
        return problem
    if not isinstance(body, dict):
        return LineError("invalid_request", "body must be a JSON object", number, "body")
    seen.add(custom_id)
    return custom_id, json.dumps(body)


def _not_json(constant: str) -> None:
    """``NaN`` and ``Infinity``, which Python's parser takes and JSON (and Postgres) do not."""
    raise ValueError(constant)


def _checked(
    custom_id: str,
    method: object,
    url: object,
    stream: object,
    number: int,
    endpoint: str,
    seen: set[str],
) -> LineError | None:
    if not 1 <= len(custom_id) <= 512:
        return LineError("missing_required_parameter", "custom_id: 1 to 512 characters", number)
    if custom_id in seen:
        return LineError("duplicate_custom_id", f"custom_id {custom_id!r} repeats", number)
    if method != "POST":
        return LineError("invalid_method", "method must be POST", number, "method")
    if url != endpoint:
        return LineError(
            "mismatched_endpoint", f"url must be the batch's endpoint {endpoint}", number, "url"
        )
    if stream is True:
        return LineError("invalid_request", "a batch request cannot stream", number, "stream")
    return None
