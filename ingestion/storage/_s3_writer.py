"""Writing one S3 object as a stream: a single PUT while it fits in a part, else a multipart
upload; every request carries the SHA-256 of its bytes (``ChecksumSHA256``), which S3 checks.

boto3's errors become ``StorageError`` here and in ``_s3`` (``storage_error``): a caller
never sees a library exception, and one whose cause may pass (a network error, a timeout, a
5xx after botocore's retries) is a ``StorageUnavailableError``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ingestion.errors import StorageError, StorageUnavailableError
from ingestion.storage._base import StagedObject

__all__ = ["MIN_PART_BYTES", "S3Writer", "b64", "storage_error"]

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part but the last
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}


def b64(digest: bytes) -> str:
    """A digest as S3's checksum headers carry it."""
    return base64.b64encode(digest).decode("ascii")


def storage_error(action: str, exc: Exception) -> StorageError:
    """boto3's ``exc`` while trying to ``action``, as our exception (raise it ``from exc``)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500 or code in _BUSY:
            return StorageUnavailableError(f"object storage failed to {action}: {code}")
        return StorageError(f"object storage refused to {action}: {code} ({status})")
    if isinstance(exc, NoCredentialsError):
        return StorageError(
            f"cannot {action}: no AWS credentials in the environment or AWS's chain"
        )
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return StorageUnavailableError(
            f"object storage could not be reached to {action}: {type(exc).__name__}"
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(f"cannot {action}: {type(exc).__name__}: {exc}")
    return StorageError(f"cannot {action}: {type(exc).__name__}")


class S3Writer:
    """Receives an object's bytes in order; parts of ``part_size`` go out as they fill.

    ``copy_part`` adds a whole existing object as the next part, copied by the server (its
    bytes are hashed by the caller through ``hash_only``): an upload's parts are joined so.
    """

    def __init__(self, client: Any, *, bucket: str, key: str, part_size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_size = part_size
        self._hash = hashlib.sha256()
        self._size = 0
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def key(self) -> str:
        return self._key

    @property
    def buffered(self) -> int:
        """Bytes written that no part holds yet."""
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._size += len(data)
        self._buffer += data
        while len(self._buffer) >= self._part_size:
            piece = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            self._put_part(piece)

    def hash_only(self, data: bytes) -> None:
        """Count bytes that a ``copy_part`` adds (the object's hash needs them in order)."""
        self._hash.update(data)
        self._size += len(data)

    def copy_part(self, source_key: str, sha256: bytes) -> None:
        """The object ``source_key`` (of at least MIN_PART_BYTES, its SHA-256 ``sha256``) as
        the next part, copied inside the bucket; the server's checksum of the copy must match."""
        if self._buffer:
            raise StorageError("a part is copied only where no written bytes wait")
        number = self._next_number()
        try:
            answer = self._client.upload_part_copy(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                CopySource={"Bucket": self._bucket, "Key": source_key},
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_error("copy a part", exc) from exc
        result = answer.get("CopyPartResult", {})
        checksum = result.get("ChecksumSHA256")
        if checksum is not None and checksum != b64(sha256):
            raise StorageError(
                f"integrity check failed: the server's SHA-256 of a copied part ({checksum}) "
                f"is not the part's ({b64(sha256)})"
            )
        self._parts.append(
            {"PartNumber": number, "ETag": result["ETag"], "ChecksumSHA256": b64(sha256)}
        )

    def finish(self) -> StagedObject:
        data = bytes(self._buffer)
        self._buffer.clear()
        digest = self._hash.digest()
        if self._upload_id is None:
            try:
                self._client.put_object(
                    Bucket=self._bucket, Key=self._key, Body=data, ChecksumSHA256=b64(digest)
                )
            except (BotoCoreError, ClientError) as exc:
                raise storage_error("store an object", exc) from exc
        else:
            if data:
                self._put_part(data)
            try:
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            except (BotoCoreError, ClientError) as exc:
                self.abort()
                raise storage_error("complete a multipart upload", exc) from exc
            self._upload_id = None
        return StagedObject(key=digest.hex(), size=self._size, token=self._key)

    def abort(self) -> None:
        """Throw away the parts sent (a multipart upload's parts cost storage until then)."""
        self._buffer.clear()
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise storage_error("abort a multipart upload", exc) from exc
        except BotoCoreError as exc:
            raise storage_error("abort a multipart upload", exc) from exc

    def _next_number(self) -> int:
        if self._upload_id is None:
            try:
                started = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, ChecksumAlgorithm="SHA256"
                )
            except (BotoCoreError, ClientError) as exc:
                raise storage_error("start a multipart upload", exc) from exc
            self._upload_id = str(started["UploadId"])
        return len(self._parts) + 1

    def _put_part(self, data: bytes) -> None:
        number = self._next_number()
        checksum = b64(hashlib.sha256(data).digest())
        try:
            answer = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
                ChecksumSHA256=checksum,
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_error("upload a part", exc) from exc
        self._parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}
        )
