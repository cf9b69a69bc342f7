"""Ingest one file into one store: parse -> chunk -> embed -> store, with status and metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ingestion import tracing
from ingestion.chunking import Chunker, ChunkingStrategy
from ingestion.embedding import BatchEmbedder
from ingestion.errors import DocumentRejectedError, WorkCancelledError
from ingestion.metrics import IngestionMetrics
from ingestion.parsing import Parser
from ingestion.pipeline._jobs import Job, JobStore
from ingestion.pipeline._writer import ChunkWriter, WriteOutcome
from ingestion.storage import ObjectStorage

__all__ = ["FileIngestor", "IngestionLimits"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestionLimits:
    max_file_bytes: int


class FileIngestor:
    """Idempotent: a file that is not ``in_progress`` any more is left alone.

    ``DocumentRejectedError`` fails the file for good (``last_error``); any other error
    propagates so the queue retries the file with backoff. A file deleted or cancelled
    while it is processed is dropped as ``stale``: no chunks, no retry. Parsing and
    chunking ask about it every second (a parsing child is killed), embedding after each
    batch, the writer before it writes.
    """

    def __init__(
        self,
        *,
        jobs: JobStore,
        writer: ChunkWriter,
        storage: ObjectStorage,
        parser: Parser,
        chunker: Chunker,
        embedder: BatchEmbedder,
        metrics: IngestionMetrics,
        limits: IngestionLimits,
    ) -> None:
        self._jobs = jobs
        self._writer = writer
        self._storage = storage
        self._parser = parser
        self._chunker = chunker
        self._embedder = embedder
        self._metrics = metrics
        self._limits = limits

    def prepare(self) -> None:
        """Start the parsing processes (their imports take seconds), so that the first
        files, and a file arriving while another is slow, find one ready."""
        self._parser.prepare()

    def ingest(self, store_id: str, file_id: str) -> str:
        """Process the file; returns the outcome (completed, duplicate, failed, skipped, stale)."""
        job = self._jobs.claim(store_id, file_id)
        if job is None:
            # Before any parsing: a redelivered message (its acknowledgement was lost, or
            # its worker died after the commit) finds its chunks committed and costs nothing.
            _log.info(
                "file already ingested, failed, cancelled or deleted; message skipped",
                extra={"store_id": store_id, "file_id": file_id},
            )
            return self._done("skipped")
        if self._jobs.mark_if_duplicate(job) is not None:
            return self._done("duplicate")
        try:
            outcome = self._run(job)
        except WorkCancelledError:
            return self._gone(job)
        except DocumentRejectedError as exc:
            if not self._jobs.fail(store_id, file_id, exc.code, exc.message):
                return self._gone(job)
            self._metrics.failures.labels(exc.code).inc()
            _log.info("file rejected", extra={"file_id": file_id, "reason": exc.message})
            return self._done("failed")
        except Exception:
            # A file or store deleted mid-way can surface as any error (its bytes vanish
            # under the parser); with the work gone there is nothing to retry.
            if self._jobs.is_pending(store_id, file_id):
                raise
            return self._gone(job)
        return self._done(outcome.value)

    def _run(self, job: Job) -> WriteOutcome:
        self._check_embedder(job)
        if job.size > self._limits.max_file_bytes:
            raise DocumentRejectedError(
                "invalid_file",
                f"{job.filename!r} is {job.size} bytes; the limit is "
                f"{self._limits.max_file_bytes} (ingestion.max_file_bytes)",
            )
        stage = self._metrics.stage_seconds
        cancelled = _Watch(self._jobs, job)
        with (
            stage.labels("parse").time(),
            tracing.span("ragway.ingest.parse", {"ragway.file.bytes": job.size}) as span,
            self._storage.local_path(job.sha256) as path,
        ):
            elements = self._parser.parse(path, filename=job.filename, cancelled=cancelled)
            if span is not None:
                pages = {e.page_number for e in elements if e.page_number is not None}
                span.set_attributes({"ragway.elements": len(elements), "ragway.pages": len(pages)})
        with stage.labels("chunk").time(), tracing.span("ragway.ingest.chunk") as span:
            strategy = ChunkingStrategy(job.max_chunk_size_tokens, job.chunk_overlap_tokens)
            chunks = self._chunker.chunk(elements, strategy, cancelled=cancelled)
            if span is not None:
                span.set_attribute("ragway.chunks", len(chunks))
        if not chunks:
            raise DocumentRejectedError("invalid_file", f"{job.filename!r} contains no text")
        if not self._jobs.set_total(job, len(chunks)):
            raise WorkCancelledError("the file is no longer wanted")
        embedding = {"ragway.chunks": len(chunks), "gen_ai.request.model": job.embedding_model}
        with stage.labels("embed").time(), tracing.span("ragway.ingest.embed", embedding):
            vectors = self._embedder.embed(
                [c.text for c in chunks], on_batch=lambda done: self._progress(job, done)
            )
        self._metrics.chunks_embedded.inc(len(chunks))
        with (
            stage.labels("store").time(),
            tracing.span("ragway.ingest.store", {"ragway.chunks": len(chunks)}),
        ):
            self._writer.ensure_index(job.embedding_dimension)
            return self._writer.replace(job, chunks, vectors)

    def _check_embedder(self, job: Job) -> None:
        embedder = self._embedder.embedder
        if (embedder.model_name, embedder.dimension) != (
            job.embedding_model,
            job.embedding_dimension,
        ):
            message = (
                f"vector store {job.store_id} holds {job.embedding_model} vectors "
                f"({job.embedding_dimension} dimensions) but this worker embeds with "
                f"{embedder.model_name} ({embedder.dimension}); configure the store's model "
                "(inference.embedder) or create a new vector store"
            )
            raise DocumentRejectedError("embedding_model_mismatch", message)

    def _progress(self, job: Job, done: int) -> None:
        if not self._jobs.progress(job, done):
            raise WorkCancelledError("the file is no longer wanted")

    def _gone(self, job: Job) -> str:
        _log.info(
            "file deleted or cancelled while being ingested; work dropped",
            extra={"store_id": job.store_id, "file_id": job.file_id},
        )
        return self._done(WriteOutcome.STALE.value)

    def _done(self, outcome: str) -> str:
        self._metrics.files_processed.labels(outcome).inc()
        return outcome


class _Watch:
    """``cancelled`` for one job: whether its file left its store or stopped waiting."""

    def __init__(self, jobs: JobStore, job: Job) -> None:
        self._jobs = jobs
        self._job = job

    def __call__(self) -> bool:
        return not self._jobs.is_pending(self._job.store_id, self._job.file_id)
