"""The Batch API's request side: create, read, list and cancel batches. Built once."""

from __future__ import annotations

from configs import BatchSettings
from gateway.api.batches._repository import BatchRepository
from gateway.api.batches.protocol import BatchRow, CreateBatch
from gateway.platform.errors import InvalidRequestError, NotFoundError
from gateway.policy.auth import Principal
from ingestion.collections import FileRepository, new_id

__all__ = ["BatchService"]

_WINDOW_S = {"24h": 24 * 3600}


class BatchService:
    """Any key may batch what it may call; a batch is visible to its key and to admins.

    The lines are checked on a worker (``validating``, then ``in_progress`` or ``failed``
    with ``errors``), as at OpenAI; what can be checked at once is: the input file exists,
    belongs to the key (or the key is an admin) and has purpose ``batch``.
    """

    def __init__(
        self, *, batches: BatchRepository, files: FileRepository, settings: BatchSettings
    ) -> None:
        self._batches = batches
        self._files = files
        self._settings = settings

    async def create(self, principal: Principal, body: CreateBatch) -> BatchRow:
        record = await self._files.get(body.input_file_id)
        if record is None or not (principal.is_admin or record.owner_key_id == principal.key_id):
            raise NotFoundError(f"no file with id {body.input_file_id!r}", param="input_file_id")
        if record.purpose != "batch":
            raise InvalidRequestError(
                f"the input file's purpose is {record.purpose!r}; a batch reads purpose 'batch'",
                param="input_file_id",
            )
        if record.bytes > self._settings.max_input_bytes:
            raise InvalidRequestError(
                f"the input file is over {self._settings.max_input_bytes} bytes "
                "(batches.max_input_bytes)",
                param="input_file_id",
            )
        return await self._batches.create(
            new_id("batch_"), principal.key_id, body, window_s=_WINDOW_S[body.completion_window]
        )

    async def get(self, principal: Principal, batch_id: str) -> BatchRow:
        row = await self._batches.get(batch_id)
        if row is None or not (principal.is_admin or row.key_id == principal.key_id):
            raise NotFoundError(f"no batch with id {batch_id!r}", param="batch_id")
        return row

    async def list_page(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> tuple[list[BatchRow], bool]:
        owner = None if principal.is_admin else principal.key_id
        if after is not None:
            await self.get(principal, after)  # a cursor the caller may not see is a 404
        return await self._batches.list_page(owner, after=after, limit=limit)

    async def cancel(self, principal: Principal, batch_id: str) -> BatchRow:
        await self.get(principal, batch_id)
        await self._batches.cancel(batch_id)
        return await self.get(principal, batch_id)
