"""Streaming ``multipart/form-data``: form fields in memory, the file part straight to storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from gateway.platform.errors import InvalidRequestError, PayloadTooLargeError

__all__ = ["UploadForm", "read_upload"]

_MAX_FIELD_BYTES = 64 * 1024


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content_type: str | None = None
    size: int = 0


async def read_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    *,
    write: Callable[[bytes], Awaitable[None]],
    max_bytes: int,
) -> UploadForm:
    """Parse the body as it arrives; ``write`` receives the ``file`` part's bytes in order."""
    media, options = parse_options_header(content_type or "")
    if media != "multipart/form-data" or not options.get("boundary"):
        raise InvalidRequestError(
            "upload files as multipart/form-data with 'file' and 'purpose' fields",
            code="invalid_content_type",
        )
    form = UploadForm()
    current: MultipartSegment | None = None
    value = bytearray()
    received = 0
    try:
        with PushMultipartParser(options["boundary"], max_segment_count=16) as parser:
            async for piece in body:
                received += len(piece)
                if received > max_bytes:
                    raise PayloadTooLargeError(
                        f"the upload is larger than {max_bytes} bytes (ingestion.max_upload_bytes)",
                        code="file_too_large",
                    )
                for event in parser.parse(piece):
                    if isinstance(event, MultipartSegment):
                        current, value = event, bytearray()
                        if event.name == "file":
                            if form.filename is not None:  # its bytes would be appended
                                raise InvalidRequestError(
                                    "send exactly one 'file' field per upload", param="file"
                                )
                            form.filename = event.filename or "upload"
                            form.content_type = event.content_type
                    elif event and current is not None:
                        if current.name == "file":
                            form.size += len(event)
                            await write(bytes(event))
                        elif len(value) + len(event) <= _MAX_FIELD_BYTES:
                            value += event
                    elif event is None and current is not None:
                        if current.name != "file":
                            form.fields[current.name] = value.decode("utf-8", "replace")
                        current = None
    except MultipartError as exc:
        raise InvalidRequestError(f"malformed multipart body: {exc}") from exc
    if form.filename is None:
        raise InvalidRequestError("the 'file' field is missing", param="file")
    return form
