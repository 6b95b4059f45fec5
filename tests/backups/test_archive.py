"""The artifacts part: a streamed tar.gz of any artifact store, and back."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from vigil.artifacts import FilesystemArtifactStore
from vigil.backups import BackupCorrupt, backup_s3_files, restore_s3_files
from vigil.backups._streams import ChunkFile

MiB = 1024 * 1024


def test_a_large_object_streams_through_in_bounded_memory(tmp_path: Path) -> None:
    """48 MiB of artifacts into the archive and back, never more than a few MiB allocated at
    once (no whole copy in memory), the bytes and content types as they were."""
    source = FilesystemArtifactStore(tmp_path / "source")
    data = os.urandom(48 * MiB)
    source.upload("runs/big.bin", data)
    source.upload("runs/small.txt", b"hello", content_type="text/plain")
    location = FilesystemArtifactStore(tmp_path / "backups")
    tracemalloc.start()
    try:
        with location.writer("set/artifacts.tar.gz", content_type="application/gzip") as writer:
            stats = backup_s3_files(source, writer)
            stored = writer.commit()
        _, backup_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        target = FilesystemArtifactStore(tmp_path / "target")
        with location.open("set/artifacts.tar.gz") as reader:
            chunks = ChunkFile(reader)
            restored = restore_s3_files(chunks, target)
        _, restore_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (stats.objects, stats.object_bytes) == (2, 48 * MiB + 5)
    assert restored.objects == 2
    assert chunks.digest.sha256 == stored.sha256
    assert backup_peak < 8 * MiB, backup_peak
    assert restore_peak < 8 * MiB, restore_peak
    with target.open("runs/big.bin") as reader:
        assert hashlib.sha256(b"".join(reader)).digest() == hashlib.sha256(data).digest()


def _archive(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "runs/../../x", ".hidden"])
def test_an_entry_outside_the_key_space_is_refused(tmp_path: Path, name: str) -> None:
    """An archive cannot choose a path: a member whose name is not a safe key is refused
    (and nothing outside the store is written)."""
    info = tarfile.TarInfo(name)
    info.size = 4
    target = FilesystemArtifactStore(tmp_path / "target")
    with pytest.raises(BackupCorrupt, match="unexpected entry"):
        restore_s3_files(ChunkFile([_archive((info, b"evil"))]), target)
    assert not (tmp_path / "etc").exists()
    assert target.list_objects("").items == []


def test_links_and_directories_are_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("runs/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    target = FilesystemArtifactStore(tmp_path / "target")
    with pytest.raises(BackupCorrupt):
        restore_s3_files(ChunkFile([_archive((link, b""))]), target)
