"""Settings of document ingestion: storage, parsing, chunking, batches, retries, metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from configs._ocr import OcrSettings
from configs._strict import Strict

__all__ = [
    "ChunkingSettings",
    "IngestionSettings",
    "IngestionStorageSettings",
    "LocalStorageSettings",
    "ParsingSettings",
    "S3StorageSettings",
    "TokenChunkingSettings",
    "UnstructuredParsingSettings",
]


class LocalStorageSettings(Strict):
    """Uploaded bytes in a directory of this machine, one file per content hash."""

    kind: Literal["local"] = "local"
    path: Path | None = Field(default=None, description="None: <data_dir>/files")


# A bucket name as S3 accepts it (AWS's rules for new buckets; other servers accept a subset).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MiB = 1024 * 1024


class S3StorageSettings(Strict):
    """Uploaded bytes in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), one object per
    content hash, so every gateway and worker host reads the same bytes.

    Credentials never come from here: boto3 finds them in the environment or AWS's standard
    chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, a web identity
    token, an instance or task role).
    """

    kind: Literal["s3"] = "s3"
    bucket: str = Field(description="an existing bucket (ragway never creates one)")
    prefix: str = Field(
        default="ragway/",
        max_length=512,
        description="key prefix of every object ragway writes (a '/' is added at its end)",
    )
    endpoint_url: str | None = Field(
        default=None,
        description="an S3-compatible server (http(s)://host[:port]); null: AWS's own endpoint",
    )
    region: str | None = Field(
        default=None, description="null: the standard chain's (AWS_REGION, the profile)"
    )
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        description="path: <endpoint>/<bucket>/<key> (most self-hosted servers); virtual: "
        "<bucket>.<endpoint>/<key>; auto: boto3's choice",
    )
    part_size_bytes: int = Field(
        default=16 * _MiB,
        ge=5 * _MiB,
        le=5 * 1024 * _MiB,
        description="an upload is sent in parts this large (S3's minimum is 5 MiB); each "
        "upload in flight holds one part in memory",
    )
    presign_downloads: bool = Field(
        default=False,
        description="GET /v1/files/{id}/content answers 307 to a presigned URL of the "
        "bucket instead of streaming the bytes through the gateway",
    )
    presign_ttl_s: int = Field(
        default=300, ge=1, le=7 * 24 * 3600, description="how long a presigned URL is valid"
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    read_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="the longest wait for a byte of an answer"
    )
    max_attempts: int = Field(
        default=4,
        ge=1,
        le=20,
        description="attempts of one request (botocore's standard retries: throttling, 5xx, "
        "connection errors), the first included",
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError(
                "a bucket name is 3-63 lowercase letters, digits, dots and hyphens, beginning "
                "and ending with a letter or digit"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if value.startswith("/"):
            raise ValueError(
                "a key prefix does not begin with '/' (write 'ragway/', not '/ragway/')"
            )
        if any(not ch.isprintable() for ch in value):
            raise ValueError("a key prefix holds printable characters only")
        return value if value == "" or value.endswith("/") else value + "/"

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an endpoint URL is http(s)://host[:port], e.g. http://minio:9000")
        if parts.username or parts.password:
            raise ValueError(
                "credentials never go in the endpoint URL: boto3 reads them from the "
                "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or AWS's chain"
            )
        return value


# The object storage ragway builds (ingestion.storage.build_storage), chosen by `kind`.
IngestionStorageSettings = Annotated[
    LocalStorageSettings | S3StorageSettings, Field(discriminator="kind")
]


class _ParsingProcesses(Strict):
    """How any parser runs: in child processes of the worker, each document under limits."""

    processes: int = Field(
        default=1,
        ge=0,
        description=(
            "child processes of each worker that parse (pure-Python parsing in a worker "
            "thread holds the GIL that embedding in another thread needs); each costs "
            "~700 MiB RSS, and with 2 or more one slow document leaves the others a "
            "process; 0: parse in the worker's threads, "
            "without the time and memory limits"
        ),
    )
    time_limit_s: float = Field(
        default=120.0,
        gt=0,
        description="a document parsing longer fails as invalid_file (its process is killed)",
    )
    memory_limit_bytes: int | None = Field(
        default=2 * 1024**3,
        ge=64 * 1024**2,
        description=(
            "address space a document may add to its parsing process (RLIMIT_AS over the "
            "parser's own); needing more fails it as invalid_file; null: no limit"
        ),
    )


class UnstructuredParsingSettings(_ParsingProcesses):
    """unstructured's partitioning. ``hi_res`` / ``ocr_only`` need their extras installed."""

    kind: Literal["unstructured"] = "unstructured"
    strategy: Literal["fast", "auto", "hi_res", "ocr_only"] = "fast"
    pdf_engine: Literal["pdfium", "pdfminer"] = Field(
        default="pdfium",
        description=(
            "text layer of PDFs with strategy fast: pdfium (PDFium's text, its lines grouped "
            "into paragraphs by pdfminer's rule and classified by unstructured; ~20x less "
            "CPU) or pdfminer (unstructured's partition_pdf); other strategies always use "
            "partition_pdf"
        ),
    )
    max_pages: int = Field(default=2000, ge=1, description="longer documents fail as invalid_file")
    languages: tuple[str, ...] = Field(default=("eng",), min_length=1)
    max_expanded_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description=(
            "zip packages (DOCX, PPTX, XLSX, ODS, ODT, EPUB) unzipping to more fail as "
            "invalid_file (zip bombs)"
        ),
    )
    max_attachment_depth: int = Field(
        default=2,
        ge=0,
        description=(
            "how deep e-mail attachments are followed (1: the message's own attachments; "
            "2: also those of an attached e-mail); deeper ones are skipped; 0: none"
        ),
    )
    max_attachments: int = Field(
        default=50,
        ge=0,
        description="attachments parsed per uploaded e-mail, at every depth; the rest skipped",
    )
    max_attachment_bytes: int = Field(
        default=64 * 1024**2,
        ge=0,
        description=(
            "bytes of attachments parsed per uploaded e-mail, at every depth; an attachment "
            "that would pass it is skipped"
        ),
    )
    ocr: OcrSettings = Field(
        default=OcrSettings(),
        description="Tesseract OCR of scanned PDF pages (strategy fast) and image uploads",
    )


# The parser the worker builds (ingestion.parsing.build_parser), chosen by `kind`. One kind
# today; another is a settings class with its own `kind` literal added here.
ParsingSettings = Annotated[UnstructuredParsingSettings, Field(discriminator="kind")]


class TokenChunkingSettings(Strict):
    """Chunks of cl100k tokens that keep to section and page boundaries (``TokenChunker``),
    and what ``chunking_strategy: auto`` means here (``static`` strategies bring their own sizes).

    OpenAI's auto is 800/400 tokens; the default embedder reads only 256 word pieces, so the
    defaults are sized to fit its window instead of being silently truncated.
    """

    kind: Literal["tokens"] = "tokens"
    auto_max_chunk_size_tokens: int = Field(default=200, ge=100, le=4096)
    auto_chunk_overlap_tokens: int = Field(default=40, ge=0)
    time_limit_s: float = Field(
        default=120.0, gt=0, description="a document chunking longer fails as invalid_file"
    )

    @model_validator(mode="after")
    def _overlap_fits(self) -> TokenChunkingSettings:
        if self.auto_chunk_overlap_tokens * 2 > self.auto_max_chunk_size_tokens:
            raise ValueError("auto_chunk_overlap_tokens must be at most half the chunk size")
        return self


# The chunker the worker builds (ingestion.chunking.build_chunker), chosen by `kind`.
ChunkingSettings = Annotated[TokenChunkingSettings, Field(discriminator="kind")]


class IngestionSettings(Strict):
    """The document pipeline: upload limits, parse, chunk, embed, store; and its worker metrics."""

    storage: IngestionStorageSettings = LocalStorageSettings()
    parsing: ParsingSettings = UnstructuredParsingSettings()
    chunking: ChunkingSettings = TokenChunkingSettings()
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="larger files fail as invalid_file"
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024, description="POST /v1/files body limit"
    )
    embed_batch_size: int = Field(default=64, ge=1, description="chunks per embedder call")
    queue: str = Field(default="ingestion", min_length=1)
    max_retries: int = Field(default=5, ge=0, description="for transient errors (db, embedder)")
    min_backoff_s: float = Field(default=1.0, gt=0)
    max_backoff_s: float = Field(default=300.0, gt=0)
    time_limit_s: float = Field(default=3600.0, gt=0, description="per file, then retried")
    metrics_port: int | None = Field(
        default=9191,
        ge=0,
        le=65535,
        description="worker Prometheus endpoint; 0: any free port; null: off",
    )
    metrics_host: str = "127.0.0.1"
    delete_orphaned_files_with_store: bool = Field(
        default=True,
        description=(
            "deleting a vector store also deletes its files that are in no other store, with "
            "their bytes once no remaining file holds the same content; files also in another "
            "store stay. false: OpenAI's behaviour, files outlive the stores they were in"
        ),
    )
