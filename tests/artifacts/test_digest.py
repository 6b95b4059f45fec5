"""StreamDigest: the sha256 and size of chunks as they pass, whatever their split."""

from __future__ import annotations

import hashlib

from vigil.artifacts._digest import StreamDigest


def test_the_digest_is_of_all_the_chunks_in_order() -> None:
    data = bytes(range(256)) * 300
    fed = StreamDigest()
    for start in range(0, len(data), 1000):
        fed.update(memoryview(data)[start : start + 1000])
    assert (fed.sha256, fed.size_bytes) == (hashlib.sha256(data).hexdigest(), len(data))
    read = StreamDigest.of([data[:7], b"", data[7:]])
    assert (read.sha256, read.size_bytes) == (fed.sha256, fed.size_bytes)


def test_nothing_fed_is_the_empty_digest() -> None:
    empty = StreamDigest()
    assert (empty.sha256, empty.size_bytes) == (hashlib.sha256(b"").hexdigest(), 0)
