"""Artifacts in any S3-compatible store (AWS, MinIO, SeaweedFS, Railway) through boto3.

One client per store, path-style addressing by default (what MinIO and SeaweedFS serve),
SigV4, bounded connect and read timeouts, and botocore's ``standard`` retry mode: connection
errors, timeouts, throttling and 5xx answers are retried with exponential backoff and jitter
for every call whose body can be sent again (every call here: bodies are bytes). What still
fails becomes one of ``vigil.artifacts.errors``.

Uploads up to ``part_bytes`` are one ``PutObject`` carrying ``x-amz-checksum-sha256``, so the
server checks the bytes and keeps the digest (HEAD returns it). Larger ones are multipart:
each ``part_bytes`` part is sent by a worker thread while the next one fills, at most
``parts_in_flight`` (2) at once, so memory holds at most three parts per upload. Presigned
URLs are signed by a second client whose endpoint is
the one browsers reach (``public_endpoint_url``; the compose stack's MinIO is ``minio:9000``
for the controller, ``localhost:9000`` for a browser). A presigned PUT signs the sha256
header: the server refuses other bytes, and a changed URL gets a 403.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from vigil.artifacts._interface import (
    CHUNK_BYTES,
    ArtifactStore,
    ObjectInfo,
    ObjectPage,
    ObjectReader,
    ObjectWriter,
    PresignedUpload,
)
from vigil.artifacts._keys import is_safe_key
from vigil.artifacts.errors import (
    AccessDenied,
    ArtifactStoreError,
    ArtifactStoreUnavailable,
    BucketNotFound,
    ChecksumMismatch,
    ObjectNotFound,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as Boto3S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

logger = logging.getLogger("vigil.artifacts")

MIN_PART_BYTES: Final = 5 * 1024 * 1024
"""S3's smallest part (but the last)."""
SHA256_METADATA: Final = "sha256"
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}
)
_BAD_DIGEST = frozenset({"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"})


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def _hex(sha256_b64: str | None) -> str | None:
    # A multipart object's checksum is a checksum of checksums ("...=-3"): not the file's.
    if not sha256_b64 or "-" in sha256_b64:
        return None
    try:
        return base64.b64decode(sha256_b64).hex()
    except ValueError:
        return None


class S3ArtifactStore(ArtifactStore):
    """Objects in one bucket of an S3-compatible endpoint.

    The seed's ``S3Client`` names are this class's (``S3Client`` is an alias):
    ``upload_file``, ``download_file``, ``list_files``, ``get_presigned_url``.
    """

    backend = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: Literal["path", "virtual", "auto"] = "path",
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        max_attempts: int = 3,
        part_bytes: int = 8 * 1024 * 1024,
        parts_in_flight: int = 2,
        max_presign_expiry_s: int = 3600,
        client: Boto3S3Client | None = None,
    ) -> None:
        super().__init__(max_presign_expiry_s=max_presign_expiry_s)
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES} (S3's minimum)")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.part_bytes = part_bytes
        self.parts_in_flight = parts_in_flight
        self._access_key_id = access_key_id
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"mode": "standard", "max_attempts": max_attempts},
            # Checksums only where a call asks for them: the CRC32 trailers newer botocore
            # adds by default are not understood by every S3-compatible server.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=16,
        )
        self.client: Boto3S3Client = client or session.client(
            "s3", endpoint_url=endpoint_url, config=config
        )
        self._signer: Boto3S3Client = (
            session.client("s3", endpoint_url=public_endpoint_url, config=config)
            if public_endpoint_url and public_endpoint_url != endpoint_url
            else self.client
        )
        self._parts = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vigil-s3-part")
        self._closed = threading.Event()

    # --- errors ------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint_url or 'AWS S3'}"

    @contextlib.contextmanager
    def translated(self, key: str | None = None) -> Iterator[None]:
        """botocore's exceptions as ``vigil.artifacts.errors`` (the cause chained)."""
        try:
            yield
        except ClientError as exc:
            raise self._client_error(exc, key) from exc
        except NoCredentialsError as exc:
            raise AccessDenied(f"no S3 credentials configured for {self.where}") from exc
        except BotoCoreError as exc:
            raise ArtifactStoreUnavailable(f"S3 unreachable ({self.where}): {exc}") from exc

    def _client_error(self, exc: ClientError, key: str | None) -> ArtifactStoreError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId", "")
        suffix = f" (S3 request id {request_id})" if request_id else ""
        if code == "NoSuchBucket":
            return BucketNotFound(f"{self.where}: the bucket does not exist{suffix}")
        if code in _NOT_FOUND or status == 404:
            return ObjectNotFound(f"no object {key} in {self.where}")
        if code in _DENIED or status == 403:
            return AccessDenied(
                f"{self.where} refused the credentials of access key "
                f"{self._access_key_id or '(none)'}: {code or status}{suffix}"
            )
        if code in _BAD_DIGEST:
            return ChecksumMismatch(f"{self.where}: the bytes do not match their sha256")
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
            return ArtifactStoreUnavailable(f"{self.where} answered {status} {code}{suffix}")
        return ArtifactStoreError(f"{self.where} answered {status} {code}{suffix}")

    # --- the interface -----------------------------------------------------------------

    def _checked(self, key: str) -> str:
        if not is_safe_key(key):
            raise ValueError(f"not a safe object key: {key!r}")
        return key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._checked(key)}"

    def key_of(self, uri: str) -> str:
        parts = urlsplit(uri)
        key = parts.path.lstrip("/")
        if parts.scheme != "s3" or parts.netloc != self.bucket or not is_safe_key(key):
            raise ObjectNotFound(f"{uri} is not in {self.where}")
        return key

    def writer(self, key: str, *, content_type: str, max_bytes: int | None = None) -> ObjectWriter:
        return _S3Writer(self, self._checked(key), content_type, max_bytes)

    def head(self, key: str) -> ObjectInfo:
        with self.translated(key):
            answer = self.client.head_object(
                Bucket=self.bucket, Key=self._checked(key), ChecksumMode="ENABLED"
            )
        sha256 = answer.get("Metadata", {}).get(SHA256_METADATA) or _hex(
            answer.get("ChecksumSHA256")
        )
        return ObjectInfo(
            key,
            answer["ContentLength"],
            answer["LastModified"].astimezone(UTC),
            answer.get("ContentType"),
            sha256,
        )

    def open(self, key: str) -> ObjectReader:
        with self.translated(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self._checked(key))
        info = ObjectInfo(
            key,
            answer["ContentLength"],
            answer["LastModified"].astimezone(UTC),
            answer.get("ContentType"),
            answer.get("Metadata", {}).get(SHA256_METADATA),
        )
        return _S3Reader(self, info, answer["Body"])

    def list_objects(
        self, prefix: str = "", *, limit: int = 1000, cursor: str | None = None
    ) -> ObjectPage:
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1..1000")
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if cursor:
            arguments["ContinuationToken"] = cursor
        with self.translated():
            answer = self.client.list_objects_v2(**arguments)
        items = [
            ObjectInfo(entry["Key"], entry["Size"], entry["LastModified"].astimezone(UTC))
            for entry in answer.get("Contents", [])
        ]
        more = answer.get("IsTruncated", False)
        return ObjectPage(items, answer.get("NextContinuationToken") if more else None)

    def delete(self, key: str) -> None:
        with self.translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._checked(key))

    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        file_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._checked(key)}
        if file_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{quote(file_name)}"'
        if content_type:
            params["ResponseContentType"] = content_type
        with self.translated(key):
            return self._signer.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.bounded_expiry(expires_s)
            )

    def get_presigned_url(self, key: str, expires_s: int = 3600) -> str:
        """The seed's ``S3Client.get_presigned_url``: a GET URL (expiry bounded as always)."""
        return self.presigned_get(key, min(expires_s, self.max_presign_expiry_s))

    def presigned_put(
        self, key: str, expires_s: int, *, content_type: str, sha256: str
    ) -> PresignedUpload:
        expires_s = self.bounded_expiry(expires_s)
        checksum = _b64(sha256)
        params = {
            "Bucket": self.bucket,
            "Key": self._checked(key),
            "ContentType": content_type,
            "ChecksumSHA256": checksum,
        }
        with self.translated(key):
            url = self._signer.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_s
            )
        return PresignedUpload(
            url=url,
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_s),
            headers={"Content-Type": content_type, "x-amz-checksum-sha256": checksum},
        )

    def sweep_incomplete(self, older_than: datetime) -> int:
        removed = 0
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": "runs/"}
        while True:
            with self.translated():
                answer = self.client.list_multipart_uploads(**arguments)
            for upload in answer.get("Uploads", []):
                if upload["Initiated"].astimezone(UTC) < older_than:
                    with self.translated(upload["Key"]):
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    removed += 1
            if not answer.get("IsTruncated"):
                return removed
            arguments["KeyMarker"] = answer.get("NextKeyMarker", "")
            arguments["UploadIdMarker"] = answer.get("NextUploadIdMarker", "")

    def check(self) -> None:
        try:
            with self.translated():
                self.client.head_bucket(Bucket=self.bucket)
        except ObjectNotFound:  # HEAD has no body: a missing bucket is a bare 404
            raise BucketNotFound(f"{self.where}: the bucket does not exist") from None

    def create_bucket(self) -> None:
        """Create the bucket unless it exists (the stacks' set-up, and tests)."""
        with self.translated():
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._parts.shutdown(wait=True, cancel_futures=True)
            self.client.close()
            if self._signer is not self.client:
                self._signer.close()

    def __repr__(self) -> str:
        return f"S3ArtifactStore({self.where})"


S3Client = S3ArtifactStore
"""The seed's name (``S3Client`` with ``upload_file``, ``download_file``, ``list_files``,
``get_presigned_url``): the same class."""


class _S3Reader(ObjectReader):
    def __init__(self, store: S3ArtifactStore, info: ObjectInfo, body: Any) -> None:
        super().__init__(info)
        self._store = store
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        try:
            with self._store.translated(self.info.key):
                yield from self._body.iter_chunks(CHUNK_BYTES)
        finally:
            self.close()

    def close(self) -> None:
        self._body.close()


class _S3Writer(ObjectWriter):
    """Bytes gather in part buffers of exactly ``part_bytes`` (no reallocation on the way);
    a full one goes to a worker thread while the next fills, at most ``parts_in_flight`` at
    a time; a buffer whose part was sent is filled again. The first part gathers as a list
    of chunks, so a small file never costs a whole part buffer."""

    def __init__(
        self, store: S3ArtifactStore, key: str, content_type: str, max_bytes: int | None
    ) -> None:
        super().__init__(key, content_type, max_bytes)
        self._store = store
        self._chunks: list[bytes] = []  # the first part, until it is full
        self._chunked = 0
        self._buffer: bytearray | None = None
        self._fill = 0
        self._spare: list[bytearray] = []
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._in_flight: deque[tuple[Future[CompletedPartTypeDef], bytearray]] = deque()

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        size = self._store.part_bytes
        if self._buffer is None:
            if self._chunked + len(data) < size:
                self._chunks.append(bytes(data))
                self._chunked += len(data)
                return
            self._buffer = bytearray(size)
            for chunk in self._chunks:
                self._buffer[self._fill : self._fill + len(chunk)] = chunk
                self._fill += len(chunk)
            self._chunks, self._chunked = [], 0
        view = memoryview(data)
        while view:
            taken = min(len(view), size - self._fill)
            self._buffer[self._fill : self._fill + taken] = view[:taken]
            self._fill += taken
            view = view[taken:]
            if self._fill == size:
                self._send_part(self._buffer)
                self._buffer = self._spare.pop() if self._spare else bytearray(size)
                self._fill = 0

    def _send_part(self, body: bytearray | bytes) -> None:
        store = self._store
        if self._upload_id is None:
            with store.translated(self.key):
                created = store.client.create_multipart_upload(
                    Bucket=store.bucket, Key=self.key, ContentType=self.content_type
                )
            self._upload_id = created["UploadId"]
        while len(self._in_flight) >= store.parts_in_flight:
            self._wait_oldest()
        number = len(self._parts) + len(self._in_flight) + 1
        future = store._parts.submit(self._upload_part, number, body)
        self._in_flight.append((future, body if isinstance(body, bytearray) else bytearray()))

    def _upload_part(self, number: int, body: bytearray | bytes) -> CompletedPartTypeDef:
        store = self._store
        assert self._upload_id is not None  # noqa: S101 - set before any part is sent
        with store.translated(self.key):
            answer = store.client.upload_part(
                Bucket=store.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=cast(bytes, body),  # botocore takes a bytearray; its stubs say bytes
            )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _wait_oldest(self) -> None:
        future, buffer = self._in_flight.popleft()
        self._parts.append(future.result())
        if len(buffer) == self._store.part_bytes:
            self._spare.append(buffer)

    def _rest(self) -> bytes:
        """What is gathered and not sent yet."""
        if self._buffer is None:
            return b"".join(self._chunks)
        return bytes(memoryview(self._buffer)[: self._fill])

    def _commit(self, sha256: str) -> None:
        store = self._store
        rest = self._rest()
        self._chunks, self._buffer, self._spare = [], None, []
        if self._upload_id is None:
            with store.translated(self.key):
                store.client.put_object(
                    Bucket=store.bucket,
                    Key=self.key,
                    Body=rest,
                    ContentType=self.content_type,
                    ChecksumSHA256=_b64(sha256),
                    Metadata={SHA256_METADATA: sha256},
                )
            return
        if rest:
            self._send_part(rest)
        while self._in_flight:
            self._wait_oldest()
        with store.translated(self.key):
            store.client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": sorted(self._parts, key=lambda p: p["PartNumber"])},
            )

    def _abort(self) -> None:
        self._chunks, self._buffer, self._spare = [], None, []
        while self._in_flight:
            future, _ = self._in_flight.popleft()
            with contextlib.suppress(Exception):
                future.result()
        if self._upload_id is None:
            return
        store = self._store
        try:
            with store.translated(self.key):
                store.client.abort_multipart_upload(
                    Bucket=store.bucket, Key=self.key, UploadId=self._upload_id
                )
        except ArtifactStoreError as exc:
            logger.warning(
                "could not abort the multipart upload of %s (the sweep will): %s", self.key, exc
            )
