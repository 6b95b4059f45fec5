"""The one artifact store interface the controller talks to, whatever holds the bytes.

Two implementations: :class:`~vigil.artifacts.FilesystemArtifactStore` (the embedded
default, under the data directory) and :class:`~vigil.artifacts.S3ArtifactStore` (any
S3-compatible endpoint, through boto3). ``tests/artifacts/test_store_contract.py`` runs the
same tests against both.

Bytes move as a stream: a writer takes chunks, computing their sha256 and size as they pass
and never holding more than one multipart part (two with the part being sent) in memory; a
reader yields chunks. Nothing is visible under a key until the writer commits, and a writer
that fails or is aborted leaves nothing behind (what a crash leaves, ``sweep_incomplete``
removes). Calls block: the controller runs them in its thread pool.
"""

from __future__ import annotations

import abc
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Final, Literal, Self

from vigil._closing import ClosedOnExit
from vigil.artifacts._digest import StreamDigest
from vigil.artifacts.errors import ChecksumMismatch, ObjectTooLarge

CHUNK_BYTES: Final = 1024 * 1024
"""How much a reader yields at a time, and how much ``upload`` reads from a file."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object a writer committed: its key, and what was measured while it streamed."""

    key: str
    size_bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What the store knows of an object without reading it."""

    key: str
    size_bytes: int
    last_modified: datetime
    content_type: str | None = None
    sha256: str | None = None
    """Known when the store keeps it (S3: single-part objects, with their checksum)."""


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of a listing in key order; ``next_cursor`` continues it (None: the end)."""

    items: list[ObjectInfo]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """A URL the client PUTs the file to itself, with the headers it must send."""

    url: str
    expires_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    method: Literal["PUT"] = "PUT"


class ObjectWriter(abc.ABC):
    """One upload in progress: ``write`` chunks, then ``commit`` (or ``abort``).

    As a context manager, leaving with an exception aborts. sha256 and size are computed in
    ``write``; past ``max_bytes`` it raises ``ObjectTooLarge`` (and the upload is aborted).
    """

    def __init__(self, key: str, content_type: str, max_bytes: int | None) -> None:
        self.key = key
        self.content_type = content_type
        self.max_bytes = max_bytes
        self._digest = StreamDigest()
        self._finished = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise RuntimeError("this upload is already committed or aborted")
        if self.max_bytes is not None and self.size_bytes + len(data) > self.max_bytes:
            self.abort()
            raise ObjectTooLarge(self.max_bytes)
        self._digest.update(data)
        self._write(data)

    @property
    def size_bytes(self) -> int:
        """How many bytes were written."""
        return self._digest.size_bytes

    def commit(self, expected_sha256: str | None = None) -> StoredObject:
        """Store the object; ``ChecksumMismatch`` (nothing stored) if its sha256 is not
        ``expected_sha256``."""
        if self._finished:
            raise RuntimeError("this upload is already committed or aborted")
        digest = self._digest.sha256
        if expected_sha256 is not None and expected_sha256 != digest:
            self.abort()
            raise ChecksumMismatch(
                f"the file's sha256 is {digest}, not the {expected_sha256} declared"
            )
        try:
            self._commit(digest)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return StoredObject(self.key, self.size_bytes, digest, self.content_type)

    def abort(self) -> None:
        """Drop what was written (idempotent, never raises for a store that is down: what it
        could not remove, ``sweep_incomplete`` does later)."""
        if not self._finished:
            self._finished = True
            self._abort()

    @abc.abstractmethod
    def _write(self, data: bytes | bytearray | memoryview) -> None: ...

    @abc.abstractmethod
    def _commit(self, sha256: str) -> None: ...

    @abc.abstractmethod
    def _abort(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()


class ObjectReader(ClosedOnExit, abc.ABC):
    """An object's bytes as chunks; close it (or read to the end, or use ``with``)."""

    def __init__(self, info: ObjectInfo) -> None:
        self.info = info

    @abc.abstractmethod
    def __iter__(self) -> Iterator[bytes]: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class ArtifactStore(ClosedOnExit, abc.ABC):
    """Where artifacts' bytes live. Keys come from :func:`~vigil.artifacts.artifact_key`;
    a key that is not made of safe segments is refused with ``ValueError``."""

    backend: ClassVar[str]
    """``filesystem`` or ``s3``."""

    def __init__(self, *, max_presign_expiry_s: int) -> None:
        self.max_presign_expiry_s = max_presign_expiry_s

    # --- what each implementation defines ----------------------------------------------

    @abc.abstractmethod
    def uri(self, key: str) -> str:
        """Where the object is, as an absolute URI (``file:///...``, ``s3://bucket/key``)."""

    @abc.abstractmethod
    def key_of(self, uri: str) -> str:
        """The key of an object this store holds at ``uri`` (``ObjectNotFound`` if it is
        not one of this store's URIs)."""

    @abc.abstractmethod
    def writer(
        self, key: str, *, content_type: str, max_bytes: int | None = None
    ) -> ObjectWriter: ...

    @abc.abstractmethod
    def open(self, key: str) -> ObjectReader:
        """The object's bytes (``ObjectNotFound``)."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """``ObjectNotFound`` if there is no object under ``key``."""

    @abc.abstractmethod
    def list_objects(
        self, prefix: str = "", *, limit: int = 1000, cursor: str | None = None
    ) -> ObjectPage:
        """Objects whose key starts with ``prefix``, in key order, ``limit`` at a time."""

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order (page after page)."""
        cursor = None
        while True:
            page = self.list_objects(prefix, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list_files(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (the seed's ``S3Client.list_files``)."""
        return [item.key for item in self.iter_objects(prefix)]

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object (no error if there is none)."""

    @abc.abstractmethod
    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        file_name: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A URL anyone holding it may GET the object from for ``expires_s`` seconds (at
        most ``max_presign_expiry_s``); None if this store cannot presign (the controller
        streams the bytes itself)."""

    @abc.abstractmethod
    def presigned_put(
        self, key: str, expires_s: int, *, content_type: str, sha256: str
    ) -> PresignedUpload | None:
        """A URL to PUT exactly the bytes whose sha256 is ``sha256`` (the store refuses
        others); None if this store cannot presign."""

    @abc.abstractmethod
    def sweep_incomplete(self, older_than: datetime) -> int:
        """Remove uploads begun before ``older_than`` and never committed (a crash's
        leftovers: temporary files, S3 multipart uploads); returns how many."""

    @abc.abstractmethod
    def check(self) -> None:
        """Readiness: raise (``BucketNotFound``, ``AccessDenied``, ...) with a message that
        says what is wrong, unless the store can take writes."""

    def close(self) -> None:
        """Release connections and threads."""

    # --- shared behaviour --------------------------------------------------------------

    def bounded_expiry(self, expires_s: int) -> int:
        if not 1 <= expires_s <= self.max_presign_expiry_s:
            raise ValueError(f"expiry must be 1..{self.max_presign_expiry_s} seconds")
        return expires_s

    def upload(
        self,
        key: str,
        source: bytes | IO[bytes] | Iterable[bytes],
        *,
        content_type: str = "application/octet-stream",
        max_bytes: int | None = None,
        expected_sha256: str | None = None,
    ) -> StoredObject:
        """Store ``source`` (bytes, a binary file, or an iterable of chunks) under ``key``."""
        with self.writer(key, content_type=content_type, max_bytes=max_bytes) as writer:
            for chunk in _chunks(source):
                writer.write(chunk)
            return writer.commit(expected_sha256)

    def upload_file(
        self,
        path: str | os.PathLike[str],
        key: str,
        *,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Store the file at ``path`` under ``key``, read a chunk at a time."""
        with open(path, "rb") as source:
            return self.upload(key, source, content_type=content_type)

    def download_file(self, key: str, path: str | os.PathLike[str]) -> ObjectInfo:
        """Write the object to ``path``: a temporary file beside it, renamed when complete."""
        target = Path(path)
        with self.open(key) as reader:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in reader:
                        out.write(chunk)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            return reader.info


def _chunks(source: bytes | IO[bytes] | Iterable[bytes]) -> Iterator[bytes | memoryview]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK_BYTES):
            yield view[start : start + CHUNK_BYTES]
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(CHUNK_BYTES):
            yield chunk
        return
    yield from source
