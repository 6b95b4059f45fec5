"""File-like adapters between the standard library's streaming writers (gzip, tarfile) and
the artifact store's chunked writers and readers: bytes pass through, nothing is gathered."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from vigil.artifacts import ObjectWriter
from vigil.artifacts._digest import StreamDigest


class WriterFile(io.RawIOBase):
    """A write-only file whose bytes go straight into an :class:`ObjectWriter`."""

    def __init__(self, writer: ObjectWriter) -> None:
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        if view:
            # Writers consume the bytes before returning (hash, file write, or their own copy
            # into a part buffer), so the caller may reuse its buffer: no copy here.
            self._writer.write(view)
        return len(view)


class ChunkFile(io.RawIOBase):
    """A read-only file over an iterable of chunks (an ``ObjectReader``), measuring the
    sha256 and size of what passes, for a check once the stream is read to its end."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        # A view, so that handing out a chunk in small reads (tarfile copies 16 KiB at a
        # time) slices without copying the rest of it each time.
        self._pending = memoryview(b"")
        self.digest = StreamDigest()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.digest.update(chunk)
            self._pending = memoryview(chunk)
        taken = min(len(buffer), len(self._pending))
        buffer[:taken] = self._pending[:taken]
        self._pending = self._pending[taken:]
        return taken

    def drain(self) -> None:
        """Read what is left (a trailer the consumer did not need), so the digest covers
        the whole object."""
        while self.read(1024 * 1024):
            pass
