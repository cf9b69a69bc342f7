"""The sweep of uploads, run by every gateway process each ``files.uploads.sweep_interval_s``.

Three chores, each on at most :data:`BATCH` uploads a pass (processes share them: rows are
claimed with ``SKIP LOCKED``, and removing parts twice is harmless):

- uploads past ``expires_at`` and not completed become ``expired``;
- ended uploads (completed, cancelled, expired) whose parts storage may still hold get them
  removed, then their part rows (a removal that failed when the upload ended is retried);
  a process handles only parts in its own storage (a process configured with another one,
  on the same database, would find nothing to remove and forget parts that stay);
- ended uploads ``keep_ended_s`` past their expiry, with no parts left, are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg_pool import PoolTimeout

from configs import UploadSettings
from gateway.api.files._blocking import off_loop
from gateway.api.uploads._repository import UploadRepository
from ingestion.errors import StorageError
from ingestion.storage import ObjectStorage

__all__ = ["BATCH", "UploadSweeper"]

_log = logging.getLogger(__name__)

BATCH = 200


class UploadSweeper:
    """``sweep_once`` is one pass; ``start`` runs passes on the event loop until ``close``."""

    def __init__(
        self, uploads: UploadRepository, storage: ObjectStorage, settings: UploadSettings
    ) -> None:
        self._uploads = uploads
        self._storage = storage
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="upload-sweep")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep_once(self) -> dict[str, int]:
        """One pass; the uploads each chore changed (expired, cleared, purged)."""
        expired = await self._uploads.expire_due(limit=BATCH)
        cleared = 0
        mine = self._storage.part_token_prefix
        for upload_id in await self._uploads.ended_with_parts(token_prefix=mine, limit=BATCH):
            try:
                await off_loop(self._storage.discard_parts, upload_id)
            except StorageError as exc:
                _log.warning(
                    "could not remove an ended upload's parts; retrying next pass",
                    extra={"upload_id": upload_id, "error": str(exc)},
                )
                continue
            await self._uploads.forget_parts(upload_id)
            cleared += 1
        purged = await self._uploads.purge(keep_s=self._settings.keep_ended_s, limit=BATCH)
        return {"expired": expired, "cleared": cleared, "purged": purged}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sweep_interval_s)
            try:
                done = await self.sweep_once()
            except (psycopg.Error, PoolTimeout) as exc:
                if not self._failing:
                    _log.warning(
                        "the upload sweep cannot reach Postgres; retrying each pass",
                        extra={"error": f"{type(exc).__name__}: {exc}"},
                    )
                self._failing = True
                continue
            if self._failing:
                _log.info("the upload sweep is running again")
            self._failing = False
            if done["expired"]:
                _log.info("uploads expired", extra=done)
