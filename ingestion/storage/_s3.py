"""S3-compatible object storage: ``<prefix>objects/<aa>/<bb>/<sha256>``, staged under
``<prefix>staging/``; an upload's parts under ``<prefix>uploads/<upload id>/<part id>``.

Every gateway and worker host reads the same bytes. Integrity: the SHA-256 is computed as
the bytes stream in, every PUT and part carries it (``ChecksumSHA256``, checked by S3), and
the commit's server-side copy asks the server for the SHA-256 of the whole object and
refuses a copy whose checksum is not the key (objects over 5 GiB are copied in parts, each
checked, as S3 offers no whole-object SHA-256 for them). Reads for a parser land in a
private temporary file, hashed again. boto3 calls block: async callers run them in threads.

Credentials come from boto3's own chain (the environment, a profile, a web identity token,
an instance or task role), never from ragway's settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from configs import S3StorageSettings
from ingestion.errors import StorageError
from ingestion.storage._base import AssembledObject, StagedObject
from ingestion.storage._s3_writer import MIN_PART_BYTES, S3Writer, b64, storage_error

__all__ = ["S3Storage"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # an upload's or a part's id
_COPY_LIMIT = 5 * 1024**3  # CopyObject's largest object; beyond, UploadPartCopy in ranges
_COPY_RANGE = 1024**3
_CHUNK = 1 << 20
_POOL = 32  # connections per process: requests run in the event loop's worker threads


class S3Storage:
    """Objects in ``bucket`` under ``prefix``; ``client`` is a boto3 S3 client (thread-safe)."""

    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        prefix: str,
        part_size: int,
        presign_ttl_s: int | None = None,
        copy_limit: int = _COPY_LIMIT,
        copy_range: int = _COPY_RANGE,
    ) -> None:
        """``presign_ttl_s``: downloads get presigned URLs valid that long (None: streamed);
        ``copy_limit`` / ``copy_range``: a commit copies larger objects in ranges this big."""
        if part_size < MIN_PART_BYTES:
            raise StorageError(f"a part is at least {MIN_PART_BYTES} bytes (S3's minimum)")
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._part_size = part_size
        self._presign_ttl_s = presign_ttl_s
        self._copy_limit = copy_limit
        self._copy_range = copy_range

    @classmethod
    def from_settings(
        cls, settings: S3StorageSettings, *, session: boto3.session.Session | None = None
    ) -> S3Storage:
        """A client with the settings' endpoint, timeouts and retries; credentials from
        ``session`` (default: boto3's chain)."""
        session = session or boto3.session.Session()
        config = Config(
            region_name=settings.region,
            signature_version="s3v4",
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            max_pool_connections=_POOL,
            s3={"addressing_style": settings.addressing_style},
            # Our own SHA-256 goes with every write; no CRC32 beside it (some S3-compatible
            # servers refuse the newer default trailers).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = session.client("s3", endpoint_url=settings.endpoint_url, config=config)
        return cls(
            client,
            bucket=settings.bucket,
            prefix=settings.prefix,
            part_size=settings.part_size_bytes,
            presign_ttl_s=settings.presign_ttl_s if settings.presign_downloads else None,
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    def object_key(self, key: str) -> str:
        """The S3 key of the object whose sha256 is ``key``."""
        if not _KEY.match(key):
            raise StorageError(f"not a sha256 object key: {key!r}")
        return f"{self._prefix}objects/{key[:2]}/{key[2:4]}/{key}"

    def writer(self) -> S3Writer:
        return self._writer(f"{self._prefix}staging/{secrets.token_hex(16)}")

    def commit(self, staged: StagedObject) -> None:
        target = self.object_key(staged.key)
        if self._exists(target):
            self._delete(staged.token, "discard staged bytes")
            return
        if staged.size > self._copy_limit:
            self._copy_in_ranges(staged, target)
        else:
            self._copy_whole(staged, target)
        self._delete(staged.token, "discard staged bytes")

    def discard(self, staged: StagedObject) -> None:
        self._delete(staged.token, "discard staged bytes")

    def exists(self, key: str) -> bool:
        return self._exists(self.object_key(key))

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="ragway-s3-") as folder:  # 0700
            path = Path(folder) / key
            digest = hashlib.sha256()
            with self.read(key) as body, path.open("wb") as out:
                while piece := body.read(_CHUNK):
                    out.write(piece)
                    digest.update(piece)
            if digest.hexdigest() != key:
                raise StorageError(f"object {key} read back with another sha256: corrupt")
            yield path

    @contextlib.contextmanager
    def read(self, key: str, *, chunk_size: int = _CHUNK) -> Iterator[BinaryIO]:
        body = self._get(self.object_key(key), f"read object {key}")["Body"]
        try:
            yield io.BufferedReader(_Body(body), buffer_size=chunk_size)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._delete(self.object_key(key), f"delete object {key}")

    def download_url(self, key: str) -> str | None:
        if self._presign_ttl_s is None:
            return None
        try:
            url: str = self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": self.object_key(key),
                    "ResponseContentType": "application/octet-stream",
                },
                ExpiresIn=self._presign_ttl_s,
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_error("presign a download", exc) from exc
        return url

    # -- uploads sent in parts ------------------------------------------------------
    @property
    def part_token_prefix(self) -> str:
        return f"{self._prefix}uploads/"

    def part_writer(self, upload_id: str, part_id: str) -> S3Writer:
        return self._writer(f"{self._parts(upload_id)}{_checked_name(part_id)}")

    def assemble(self, tokens: Sequence[str]) -> AssembledObject:
        """Parts of at least 5 MiB that start a part of the new object are copied by the
        server; the others pass through here. Every part is read, for the hashes."""
        writer = self.writer()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            for token in tokens:
                answer = self._get(self._part(token), "read a part of an upload")
                body = answer["Body"]
                try:
                    if writer.buffered == 0 and int(answer["ContentLength"]) >= MIN_PART_BYTES:
                        digest = hashlib.sha256()
                        for piece in _chunks(body):
                            writer.hash_only(piece)
                            digest.update(piece)
                            md5.update(piece)
                        writer.copy_part(token, digest.digest())
                    else:
                        for piece in _chunks(body):
                            writer.write(piece)
                            md5.update(piece)
                finally:
                    body.close()
            staged = writer.finish()
        except BaseException:
            writer.abort()
            raise
        return AssembledObject(staged, md5.hexdigest())

    def discard_parts(self, upload_id: str) -> None:
        prefix = self._parts(upload_id)
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            )
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self._client.delete_objects(
                        Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True}
                    )
        except (BotoCoreError, ClientError) as exc:
            raise storage_error(f"remove the parts of {upload_id}", exc) from exc

    # -- helpers --------------------------------------------------------------------
    def _writer(self, key: str) -> S3Writer:
        return S3Writer(self._client, bucket=self._bucket, key=key, part_size=self._part_size)

    def _parts(self, upload_id: str) -> str:
        return f"{self._prefix}uploads/{_checked_name(upload_id)}/"

    def _part(self, token: str) -> str:
        folder = self.part_token_prefix
        names = token[len(folder) :].split("/") if token.startswith(folder) else []
        if len(names) != 2 or not all(_NAME.match(name) for name in names):
            raise StorageError(f"not a part of an upload in this bucket: {token!r}")
        return token

    def _exists(self, s3_key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=s3_key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise storage_error("look for an object", exc) from exc
        except BotoCoreError as exc:
            raise storage_error("look for an object", exc) from exc
        return True

    def _get(self, s3_key: str, action: str) -> dict[str, Any]:
        """GetObject's answer: ``Body`` streams the bytes, ``ContentLength`` counts them."""
        try:
            answer: dict[str, Any] = self._client.get_object(Bucket=self._bucket, Key=s3_key)
            return answer
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StorageError(f"cannot {action}: it is missing from the bucket") from exc
            raise storage_error(action, exc) from exc
        except BotoCoreError as exc:
            raise storage_error(action, exc) from exc

    def _delete(self, s3_key: str, action: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=s3_key)  # missing: no error
        except (BotoCoreError, ClientError) as exc:
            raise storage_error(action, exc) from exc

    def _copy_whole(self, staged: StagedObject, target: str) -> None:
        """One server-side copy; the server's SHA-256 of the copy must be the key."""
        try:
            answer = self._client.copy_object(
                Bucket=self._bucket,
                Key=target,
                CopySource={"Bucket": self._bucket, "Key": staged.token},
                ChecksumAlgorithm="SHA256",
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_error(f"store object {staged.key}", exc) from exc
        checksum = answer.get("CopyObjectResult", {}).get("ChecksumSHA256")
        expected = b64(bytes.fromhex(staged.key))
        if checksum is not None and checksum != expected:
            self._delete(target, f"remove the corrupt copy of {staged.key}")
            raise StorageError(
                f"integrity check failed: the server's SHA-256 of object {staged.key} is "
                f"{checksum}, not the {expected} computed as its bytes arrived"
            )

    def _copy_in_ranges(self, staged: StagedObject, target: str) -> None:
        """A multipart copy (CopyObject stops at 5 GiB), completed only if every range is."""
        try:
            started = self._client.create_multipart_upload(Bucket=self._bucket, Key=target)
        except (BotoCoreError, ClientError) as exc:
            raise storage_error(f"store object {staged.key}", exc) from exc
        upload_id = started["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            for number, first in enumerate(range(0, staged.size, self._copy_range), start=1):
                last = min(first + self._copy_range, staged.size) - 1
                answer = self._client.upload_part_copy(
                    Bucket=self._bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self._bucket, "Key": staged.token},
                    CopySourceRange=f"bytes={first}-{last}",
                )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except (BotoCoreError, ClientError) as exc:
            with contextlib.suppress(BotoCoreError, ClientError):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=target, UploadId=upload_id
                )
            raise storage_error(f"store object {staged.key}", exc) from exc


class _Body(io.RawIOBase):
    """botocore's streaming body as a raw stream (``read`` returns what arrives)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data: bytes = self._body.read(len(buffer))
        except BotoCoreError as exc:
            raise storage_error("read an object", exc) from exc
        buffer[: len(data)] = data
        return len(data)


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(_CHUNK)
    except BotoCoreError as exc:
        raise storage_error("read a part of an upload", exc) from exc


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise StorageError(f"not an upload's or a part's id: {name!r}")
    return name
