"""The sha256 and size of bytes as they pass: an upload being written, a stored object or a
backup part read back, an archive read through a file wrapper."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class StreamDigest:
    """Fed chunk by chunk (``update``); ``sha256`` (hex) and ``size_bytes`` of all of them."""

    __slots__ = ("_hash", "size_bytes")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size_bytes = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._hash.update(chunk)
        self.size_bytes += len(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @classmethod
    def of(cls, chunks: Iterable[bytes]) -> StreamDigest:
        """The digest of every chunk of ``chunks`` (an ``ObjectReader``, say), read to its end."""
        digest = cls()
        for chunk in chunks:
            digest.update(chunk)
        return digest
