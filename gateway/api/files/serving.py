"""The Files API's logic: streamed uploads into object storage, listing, content, deletion.

A member key's uploads are capped by what it keeps stored (``MemberQuota``). Storage calls
block (a disk, or S3 over the network): they run in worker threads, written ~1 MiB at a
time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import BinaryIO

from gateway.api.files._blocking import cleanup, off_loop
from gateway.api.files._multipart import read_upload
from gateway.api.files._quota import MemberQuota
from gateway.api.files.protocol import MEMBER_PURPOSES, PURPOSES
from gateway.platform.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.policy.auth import Principal
from ingestion.collections import FileRecord, FileRepository, Page, PageRequest, new_id
from ingestion.storage import ObjectStorage

__all__ = ["FileService", "clean_name", "require_admin"]

_WRITE_BYTES = 1 << 20  # bytes handed to a storage writer (in a thread) at once


def require_admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise PermissionDeniedError(f"only admin keys may {action}")


class FileService:
    """Built once at start-up with the repository and the storage."""

    def __init__(
        self,
        *,
        files: FileRepository,
        storage: ObjectStorage,
        max_upload_bytes: int,
        quota: MemberQuota,
    ) -> None:
        self._files = files
        self._storage = storage
        self._max_upload_bytes = max_upload_bytes
        self._quota = quota

    async def upload(
        self, principal: Principal, content_type: str | None, body: AsyncIterator[bytes]
    ) -> FileRecord:
        room = await self._quota.room(principal)
        writer = self._storage.writer()
        pending = bytearray()
        written = 0

        async def write(data: bytes) -> None:
            nonlocal written
            written += len(data)
            if room is not None and written > room:
                raise self._quota.too_large(written, room)
            pending.extend(data)
            if len(pending) >= _WRITE_BYTES:
                await off_loop(writer.write, bytes(pending))
                pending.clear()

        try:
            form = await read_upload(
                content_type, body, write=write, max_bytes=self._max_upload_bytes
            )
            purpose = form.fields.get("purpose")
            if purpose not in PURPOSES:
                raise InvalidRequestError(
                    f"purpose must be one of {', '.join(PURPOSES)} (got {purpose!r})",
                    param="purpose",
                )
            if purpose not in MEMBER_PURPOSES:
                require_admin(principal, f"upload files for {purpose!r}")
            await off_loop(writer.write, bytes(pending))
            staged = await off_loop(writer.finish)
        except BaseException:
            await cleanup(writer.abort)
            raise
        record = FileRecord(
            id=new_id("file-"),
            owner_key_id=principal.key_id,
            filename=clean_name(form.filename or "upload"),
            purpose=purpose,
            bytes=staged.size,
            sha256=staged.key,
            content_type=form.content_type,
            created_at=_placeholder_time(),
        )
        try:
            return await self._files.insert(
                record,
                commit_bytes=lambda: self._storage.commit(staged),
                check=self._quota.check(principal, staged.size),
            )
        except BaseException:
            await cleanup(self._storage.discard, staged)
            raise

    async def get(self, principal: Principal, file_id: str) -> FileRecord:
        """Admins read every file; a member only its own (batch input and output)."""
        record = await self._files.get(file_id)
        if record is None or not (principal.is_admin or record.owner_key_id == principal.key_id):
            raise NotFoundError(f"no file with id {file_id!r}", param="file_id")
        return record

    async def list_page(
        self, principal: Principal, page: PageRequest, purpose: str | None
    ) -> Page[FileRecord]:
        if principal.is_admin:
            return await self._files.list_page(page, purpose=purpose)
        for cursor in (page.after, page.before):
            if cursor is not None:
                await self.get(principal, cursor)  # another key's file is no cursor
        return await self._files.list_page(page, purpose=purpose, owner_key_id=principal.key_id)

    async def content(self, principal: Principal, file_id: str) -> str | AsyncIterator[bytes]:
        """A short-lived URL of the bytes, where the storage gives one (S3 with
        ``presign_downloads``); else the bytes, opened before the answer starts (a missing
        object is an error, not a truncated body)."""
        record = await self.get(principal, file_id)
        url = await off_loop(self._storage.download_url, record.sha256)
        if url is not None:
            return url
        opened = self._storage.read(record.sha256)
        handle = await off_loop(opened.__enter__)
        return self._stream(opened, handle)

    async def delete(self, principal: Principal, file_id: str) -> None:
        await self.get(principal, file_id)
        if not await self._files.delete(file_id, remove_bytes=self._storage.delete):
            raise NotFoundError(f"no file with id {file_id!r}", param="file_id")

    async def _stream(
        self, opened: AbstractContextManager[BinaryIO], handle: BinaryIO
    ) -> AsyncIterator[bytes]:
        try:
            while piece := await off_loop(handle.read, 1 << 20):
                yield piece
        finally:
            await cleanup(opened.__exit__, None, None, None)


def clean_name(name: str) -> str:
    """The file's base name, without directories or control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    if cleaned.strip(".") == "":  # "." and ".." name directories, not files
        return "upload"
    return cleaned[:255]


def _placeholder_time() -> datetime:
    return datetime.now(UTC)  # replaced by the database's now() on insert
