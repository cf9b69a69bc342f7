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
    file_field: str = "file",
    usage: str = "upload files as multipart/form-data with 'file' and 'purpose' fields",
    limit_name: str = "ingestion.max_upload_bytes",
) -> UploadForm:
    """Parse the body as it arrives; ``write`` receives the ``file_field`` part's bytes in
    order. ``usage`` tells a client that sent no multipart body what to send; a body over
    ``max_bytes`` is refused naming ``limit_name``."""
    media, options = parse_options_header(content_type or "")
    if media != "multipart/form-data" or not options.get("boundary"):
        raise InvalidRequestError(usage, code="invalid_content_type")
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
                        f"the upload is larger than {max_bytes} bytes ({limit_name})",
                        code="file_too_large",
                    )
                for event in parser.parse(piece):
                    if isinstance(event, MultipartSegment):
                        current, value = event, bytearray()
                        if event.name == file_field:
                            if form.filename is not None:  # its bytes would be appended
                                raise InvalidRequestError(
                                    f"send exactly one {file_field!r} field per upload",
                                    param=file_field,
                                )
                            form.filename = event.filename or "upload"
                            form.content_type = event.content_type
                    elif event and current is not None:
                        if current.name == file_field:
                            form.size += len(event)
                            await write(bytes(event))
                        elif len(value) + len(event) <= _MAX_FIELD_BYTES:
                            value += event
                    elif event is None and current is not None:
                        if current.name != file_field:
                            form.fields[current.name] = value.decode("utf-8", "replace")
                        current = None
    except MultipartError as exc:
        raise InvalidRequestError(f"malformed multipart body: {exc}") from exc
    if form.filename is None:
        raise InvalidRequestError(f"the {file_field!r} field is missing", param=file_field)
    return form
