"""The Uploads API's logic: an upload, its parts streamed into object storage, and its
completion into a File (as ``POST /v1/files`` makes one), or its cancellation.

Parts are objects of their own (S3) or staged files (local); completing joins them in the
order the client gives (``ObjectStorage.assemble``: on S3 a multipart upload whose parts of
5 MiB or more are server-side copies) and hashes the whole, so the File is content-addressed
like any other. Parts may arrive in any order and size, which S3's own multipart upload
(numbered parts fixed when sent, each but the last at least 5 MiB) could not take directly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from configs import UploadSettings
from gateway.api.files import MemberQuota, require_admin
from gateway.api.files._blocking import cleanup, off_loop, shielded
from gateway.api.files._multipart import read_upload
from gateway.api.files.protocol import MEMBER_PURPOSES, PURPOSES
from gateway.api.files.serving import clean_name
from gateway.api.uploads._repository import NewPart, UploadRepository
from gateway.api.uploads.protocol import (
    MAX_PART_BYTES,
    CompleteUpload,
    CreateUpload,
    PartRow,
    UploadRow,
    wire_status,
)
from gateway.platform.errors import (
    ConflictError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
)
from gateway.policy.auth import Principal
from ingestion.collections import FileRecord, FileRepository, new_id
from ingestion.errors import StorageError
from ingestion.storage import ObjectStorage, StagedObject

__all__ = ["UploadService"]

_log = logging.getLogger(__name__)

_WRITE_BYTES = 1 << 20
_FORM_BYTES = 64 * 1024  # a part's body beyond its data: boundaries and headers


class UploadService:
    """Built once at start-up; a key sees its own uploads, admins every one (as files)."""

    def __init__(
        self,
        *,
        uploads: UploadRepository,
        files: FileRepository,
        storage: ObjectStorage,
        quota: MemberQuota,
        settings: UploadSettings,
    ) -> None:
        self._uploads = uploads
        self._files = files
        self._storage = storage
        self._quota = quota
        self._settings = settings

    async def create(self, principal: Principal, body: CreateUpload) -> UploadRow:
        _check_purpose(principal, body.purpose)
        if body.expires_after is not None:
            raise InvalidRequestError(
                "expires_after is not supported: files are kept until they are deleted",
                param="expires_after",
                code="unsupported_parameter",
            )
        if body.bytes > self._settings.max_bytes:
            raise InvalidRequestError(
                f"an upload holds at most {self._settings.max_bytes} bytes "
                f"(files.uploads.max_bytes); this one declares {body.bytes}",
                param="bytes",
                code="upload_too_large",
            )
        room = await self._quota.room(principal)
        if room is not None and body.bytes > room:
            raise self._quota.too_large(body.bytes, room)
        return await self._uploads.create(
            new_id("upload_"),
            owner_key_id=principal.key_id,
            filename=clean_name(body.filename),
            purpose=body.purpose,
            mime_type=body.mime_type,
            size=body.bytes,
            expires_after_s=self._settings.expires_after_s,
            check=self._quota.check(principal, body.bytes),  # its bytes held until it ends
        )

    async def add_part(
        self,
        principal: Principal,
        upload_id: str,
        content_type: str | None,
        body: AsyncIterator[bytes],
    ) -> PartRow:
        """Stream the ``data`` field into storage, then record it if the upload still takes
        it (a part that lost a race with cancel, expiry or another part is thrown away)."""
        row = await self.get(principal, upload_id)
        _require_open(row, "add a part to")
        room = row.bytes - row.received
        part_id = new_id("part_")
        writer = self._storage.part_writer(upload_id, part_id)
        pending = bytearray()
        written = 0

        async def write(data: bytes) -> None:
            nonlocal written
            written += len(data)
            if written > MAX_PART_BYTES:
                raise PayloadTooLargeError(
                    f"a part holds at most {MAX_PART_BYTES} bytes (64 MiB)",
                    param="data",
                    code="part_too_large",
                )
            if written > room:
                raise _over_declared(row, written)
            pending.extend(data)
            if len(pending) >= _WRITE_BYTES:
                await off_loop(writer.write, bytes(pending))
                pending.clear()

        try:
            await read_upload(
                content_type,
                body,
                write=write,
                max_bytes=MAX_PART_BYTES + _FORM_BYTES,
                file_field="data",
                usage="send a part as multipart/form-data with its bytes in a 'data' field",
                limit_name="a part's 64 MiB and its form",
            )
            await off_loop(writer.write, bytes(pending))
            staged = await off_loop(writer.finish)
        except BaseException:
            await cleanup(writer.abort)
            raise
        new = NewPart(part_id, staged.size, staged.key, staged.token)
        try:
            after, part = await self._uploads.add_part(upload_id, new)
        except BaseException:
            await cleanup(self._storage.discard, staged)
            raise
        if part is None:
            await cleanup(self._storage.discard, staged)
            if after is None:
                raise _not_found(upload_id)
            _require_open(after, "add a part to")
            raise _over_declared(after, after.received + staged.size)
        return part

    async def complete(
        self, principal: Principal, upload_id: str, body: CompleteUpload
    ) -> tuple[UploadRow, FileRecord]:
        """Join the parts into a File; a refusal (or failure) leaves the upload pending."""
        row = await self.get(principal, upload_id)
        _require_open(row, "complete")
        if not await self._uploads.claim(upload_id):
            _require_open(await self.get(principal, upload_id), "complete")
            raise ConflictError(
                f"upload {upload_id!r} is being completed by another request",
                param="upload_id",
                code="upload_completing",
            )
        try:
            record = await self._join(principal, row, body)
        except BaseException:
            await shielded(self._uploads.release(upload_id))
            raise
        await self._discard_parts(upload_id)
        return await self.get(principal, upload_id), record

    async def cancel(self, principal: Principal, upload_id: str) -> UploadRow:
        """A pending upload ends ``cancelled`` and its parts go; cancelling again is a no-op."""
        row = await self.get(principal, upload_id)
        if row.status != "cancelled":
            _require_open(row, "cancel")
            after = await self._uploads.cancel(upload_id)
            if after is None:
                raise _not_found(upload_id)
            if after.status != "cancelled":
                _require_open(after, "cancel")
                raise ConflictError(
                    f"upload {upload_id!r} is being completed; it cannot be cancelled",
                    param="upload_id",
                    code="upload_completing",
                )
            row = after
        await self._discard_parts(upload_id)
        return row

    async def get(self, principal: Principal, upload_id: str) -> UploadRow:
        row = await self._uploads.get(upload_id)
        if row is None or not (principal.is_admin or row.owner_key_id == principal.key_id):
            raise _not_found(upload_id)
        return row

    async def _join(self, principal: Principal, row: UploadRow, body: CompleteUpload) -> FileRecord:
        parts = {part.id: part for part in await self._uploads.parts(row.id)}
        tokens = _ordered_tokens(row, parts, body.part_ids)
        room = await self._quota.room(principal, upload_id=row.id)
        if room is not None and row.bytes > room:
            raise self._quota.too_large(row.bytes, room)
        assembled = await off_loop(self._storage.assemble, tokens)
        staged = assembled.staged
        try:
            if staged.size != row.bytes:  # the rows said otherwise: storage lost or grew a part
                raise StorageError(
                    f"the parts of {row.id} joined into {staged.size} bytes, not {row.bytes}"
                )
            if body.md5 is not None and body.md5.lower() != assembled.md5:
                raise InvalidRequestError(
                    f"the parts' MD5 is {assembled.md5}, not the {body.md5} given",
                    param="md5",
                    code="md5_mismatch",
                )
            return await self._insert(principal, row, staged)
        except BaseException:
            await cleanup(self._storage.discard, staged)
            raise

    async def _insert(
        self, principal: Principal, row: UploadRow, staged: StagedObject
    ) -> FileRecord:
        record = FileRecord(
            id=new_id("file-"),
            owner_key_id=row.owner_key_id,
            filename=row.filename,
            purpose=row.purpose,
            bytes=staged.size,
            sha256=staged.key,
            content_type=row.mime_type,
            created_at=datetime.now(UTC),  # replaced by the database's now() on insert
        )
        quota = self._quota.check(principal, staged.size, upload_id=row.id)
        mark = self._uploads.completed(row.id, record.id)

        async def steps(conn: Any) -> None:
            if quota is not None:
                await quota(conn)
            await mark(conn)

        return await self._files.insert(
            record, commit_bytes=lambda: self._storage.commit(staged), check=steps
        )

    async def _discard_parts(self, upload_id: str) -> None:
        """The parts' bytes, then their rows; a failure leaves both for the sweep."""
        try:
            await cleanup(self._storage.discard_parts, upload_id)
        except StorageError:
            _log.warning("could not remove an upload's parts; the sweep will", exc_info=True)
            return
        await self._uploads.forget_parts(upload_id)


def _check_purpose(principal: Principal, purpose: str) -> None:
    if purpose not in PURPOSES:
        raise InvalidRequestError(
            f"purpose must be one of {', '.join(PURPOSES)} (got {purpose!r})", param="purpose"
        )
    if purpose not in MEMBER_PURPOSES:
        require_admin(principal, f"upload files for {purpose!r}")


def _require_open(row: UploadRow, action: str) -> None:
    """Refuse what only a pending upload takes, saying what state it is in."""
    status = wire_status(row)
    if status == "pending":
        return
    if status == "completed":
        detail = f"it is already completed (file {row.file_id})"
    elif status == "cancelled":
        detail = "it was cancelled"
    else:
        detail = "it expired (uploads are completed within files.uploads.expires_after_s)"
    raise InvalidRequestError(
        f"cannot {action} upload {row.id!r}: {detail}",
        param="upload_id",
        code=f"upload_{status}",
    )


def _over_declared(row: UploadRow, total: int) -> GatewayError:
    return InvalidRequestError(
        f"the parts of upload {row.id!r} would hold {total} bytes, more than the {row.bytes} "
        "it declared",
        param="data",
        code="upload_too_large",
    )


def _ordered_tokens(row: UploadRow, parts: dict[str, PartRow], part_ids: list[str]) -> list[str]:
    """Storage tokens of ``part_ids`` in order, once each, adding up to the declared bytes."""
    if len(set(part_ids)) != len(part_ids):
        raise InvalidRequestError("a part is listed twice", param="part_ids")
    unknown = [part_id for part_id in part_ids if part_id not in parts]
    if unknown:
        raise InvalidRequestError(
            f"no part {unknown[0]!r} in upload {row.id!r}", param="part_ids", code="unknown_part"
        )
    total = sum(parts[part_id].bytes for part_id in part_ids)
    if total != row.bytes:
        raise InvalidRequestError(
            f"the parts listed hold {total} bytes; upload {row.id!r} declared {row.bytes}",
            param="part_ids",
            code="bytes_mismatch",
        )
    return [parts[part_id].token for part_id in part_ids]


def _not_found(upload_id: str) -> NotFoundError:
    return NotFoundError(f"no upload with id {upload_id!r}", param="upload_id")
