"""What the collections pages show: a store's files as rows, sizes, and the store's chunking.

The Vector Stores service answers with store-file records (no filenames: those belong to
the Files API), so the rows join them with the file records read through the same
repository the services use. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from gateway.api.console._services import ConsoleServices
from gateway.api.console._user import ConsoleUser
from gateway.api.vector_stores.protocol import ChunkingStrategy, StaticChunking
from ingestion.collections import FileRepository, PageRequest, StoreFileRecord, VectorStoreRecord

__all__ = [
    "CHUNKING_KEY",
    "DESCRIPTION_KEY",
    "FileRow",
    "FilesView",
    "chunking_of",
    "chunking_tag",
    "files_view",
    "human_bytes",
    "validation_message",
]

MAX_ROWS = 100  # the most files one page shows (the API's page limit)
# The console keeps a store's description and default chunking in its metadata: the
# Vector Stores API stores neither, and metadata is what OpenAI offers for such notes.
DESCRIPTION_KEY = "description"
CHUNKING_KEY = "chunking"

_BADGES = {
    "queued": "badge-muted",
    "in progress": "badge-info",
    "completed": "badge-ok",
    "failed": "badge-bad",
    "cancelled": "badge-warn",
}


def human_bytes(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``: sizes as people read them."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _chunks(count: int | None) -> str:
    return "chunk" if count == 1 else "chunks"


@dataclass(frozen=True, slots=True)
class FileRow:
    """One file of a store, with its status in words (not colour only)."""

    record: StoreFileRecord
    filename: str
    bytes: int | None

    @property
    def label(self) -> str:
        status = self.record.status
        if status == "in_progress":
            return "queued" if self.record.chunks_total is None else "in progress"
        return status

    @property
    def badge(self) -> str:
        return _BADGES[self.label]

    @property
    def settled(self) -> bool:
        return self.record.status != "in_progress"

    @property
    def progress(self) -> str:
        """What the status badge adds: chunks done, chunk count or why it failed."""
        record = self.record
        if self.label == "in progress":
            return f"{record.chunks_done}/{record.chunks_total} {_chunks(record.chunks_total)}"
        if record.status == "completed":
            count = record.chunks_total or record.chunks_done
            return f"{count} {_chunks(count)}"
        if record.status == "failed":
            return record.last_error_message or "ingestion failed"
        return ""


@dataclass(frozen=True, slots=True)
class FilesView:
    rows: list[FileRow]
    more: bool  # the store has more files than the page shows

    @property
    def summary(self) -> list[tuple[str, int, str]]:
        """``(label, count, badge)`` for each status shown, in the order work moves."""
        counts = {label: 0 for label in _BADGES}
        for row in self.rows:
            counts[row.label] += 1
        return [(label, n, _BADGES[label]) for label, n in counts.items() if n]

    @property
    def total_bytes(self) -> int:
        return sum(row.bytes or 0 for row in self.rows)

    @property
    def busy(self) -> bool:
        """Some file is still queued or being processed: the table keeps polling."""
        return any(not row.settled for row in self.rows)


async def files_view(services: ConsoleServices, user: ConsoleUser, store_id: str) -> FilesView:
    """The store's newest files (checks that ``user`` may read the store)."""
    found = await services.collections.vector_stores.list_files(
        user.principal, store_id, PageRequest(limit=MAX_ROWS, order="desc"), status=None
    )
    repository = FileRepository(services.pool, stager=services.queue)
    files = await repository.get_many([r.file_id for r in found.items])
    rows = []
    for record in found.items:
        file = files.get(record.file_id)
        name = file.filename if file else record.file_id
        rows.append(FileRow(record, name, file.bytes if file else None))
    return FilesView(rows, found.has_more)


def chunking_tag(strategy: ChunkingStrategy) -> str:
    """How a store's default chunking is kept in its metadata: ``auto`` or ``static:800:400``."""
    if strategy.type == "static" and strategy.static is not None:
        sizes = strategy.static
        return f"static:{sizes.max_chunk_size_tokens}:{sizes.chunk_overlap_tokens}"
    return "auto"


def chunking_of(store: VectorStoreRecord) -> ChunkingStrategy | None:
    """The store's default chunking for files added from the console (None: the server's)."""
    tag = str(store.metadata.get(CHUNKING_KEY, ""))
    kind, _, sizes = tag.partition(":")
    if kind != "static":
        return None
    size, _, overlap = sizes.partition(":")
    if not (size.isdigit() and overlap.isdigit()):
        return None
    try:  # the metadata may have been edited through the API since
        static = StaticChunking(max_chunk_size_tokens=int(size), chunk_overlap_tokens=int(overlap))
    except ValidationError:
        return None
    return ChunkingStrategy(type="static", static=static)


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one readable sentence: ``field: problem; field: problem``."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(problems)
