"""Artifacts as files under one directory: the embedded default (``<data dir>/artifacts``).

An object's file is ``<root>/<key>``. A writer streams into ``<root>/.incoming/<random>``
(same filesystem, mode 600) and commits with fsync and ``os.replace``: a reader sees the whole
file or nothing, and an interrupted upload leaves only a temporary file that
``sweep_incomplete`` removes. Directories are 700, files 600. The filesystem cannot presign:
the controller streams downloads itself.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Final
from urllib.parse import quote, unquote, urlsplit

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
from vigil.artifacts.errors import ArtifactStoreUnavailable, ObjectNotFound

INCOMING: Final = ".incoming"


def _private_dir(path: Path) -> None:
    """``path`` and every missing parent created 700 (``mkdir(parents=True)`` would give the
    parents the umask's mode)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)


class _FileWriter(ObjectWriter):
    def __init__(self, store: FilesystemArtifactStore, key: str, content_type: str,
                 max_bytes: int | None) -> None:  # fmt: skip
        super().__init__(key, content_type, max_bytes)
        self._target = store.path_of(key)
        incoming = store.root / INCOMING
        _private_dir(incoming)
        self._temporary = incoming / f"{os.urandom(12).hex()}.part"
        fd = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: IO[bytes] = os.fdopen(fd, "wb")

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)

    def _commit(self, sha256: str) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        _private_dir(self._target.parent)
        os.replace(self._temporary, self._target)

    def _abort(self) -> None:
        self._file.close()
        self._temporary.unlink(missing_ok=True)


def _object_info(key: str, stat: os.stat_result) -> ObjectInfo:
    return ObjectInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


class _FileReader(ObjectReader):
    def __init__(self, info: ObjectInfo, file: IO[bytes]) -> None:
        super().__init__(info)
        self._file = file

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._file.read(CHUNK_BYTES):
                yield chunk
        finally:
            self._file.close()

    def close(self) -> None:
        self._file.close()


class FilesystemArtifactStore(ArtifactStore):
    """Objects as files under ``root`` (created 700 if missing)."""

    backend = "filesystem"

    def __init__(self, root: Path, *, max_presign_expiry_s: int = 3600) -> None:
        super().__init__(max_presign_expiry_s=max_presign_expiry_s)
        self.root = root.resolve()

    def path_of(self, key: str) -> Path:
        if not is_safe_key(key):
            raise ValueError(f"not a safe object key: {key!r}")
        return self.root / key

    def uri(self, key: str) -> str:
        return self.path_of(key).as_uri()

    def key_of(self, uri: str) -> str:
        parts = urlsplit(uri)
        path = Path(unquote(parts.path))
        if parts.scheme != "file" or not path.is_relative_to(self.root):
            raise ObjectNotFound(f"{uri} is not in this store ({self.root})")
        return path.relative_to(self.root).as_posix()

    def writer(self, key: str, *, content_type: str, max_bytes: int | None = None) -> ObjectWriter:
        return _FileWriter(self, key, content_type, max_bytes)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key}") from None
        if not path.is_file():
            raise ObjectNotFound(f"no object {key}")
        return _object_info(key, stat)

    def head(self, key: str) -> ObjectInfo:
        return self._info(key, self.path_of(key))

    def open(self, key: str) -> ObjectReader:
        path = self.path_of(key)
        try:
            file = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"no object {key}") from None
        # The open file's own stat: the path may be removed (a delete, a retention) between
        # the open and a stat of the path, and the reader must still close the file.
        try:
            stat = os.fstat(file.fileno())
        except BaseException:
            file.close()
            raise
        return _FileReader(_object_info(key, stat), file)

    def list_objects(
        self, prefix: str = "", *, limit: int = 1000, cursor: str | None = None
    ) -> ObjectPage:
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1..1000")
        listed = self._listed(prefix, _decode_cursor(cursor) if cursor else "")
        page = list(islice(listed, limit))
        more = len(page) == limit and next(listed, None) is not None
        return ObjectPage(page, _encode_cursor(page[-1].key) if more else None)

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # One walk for the whole listing (paging would walk the folder again per page).
        return self._listed(prefix, "")

    def _listed(self, prefix: str, after: str) -> Iterator[ObjectInfo]:
        keys = sorted(
            k
            for k in self._keys_under(prefix)
            if k.startswith(prefix) and k > after and is_safe_key(k)
        )
        for key in keys:
            try:
                yield self._info(key, self.root / key)
            except ObjectNotFound:  # removed since the walk (a sweep, a retention): not listed
                continue

    def _keys_under(self, prefix: str) -> Iterator[str]:
        # Walk only the deepest directory the prefix names (runs/<run>/ for one run).
        directory = prefix.rpartition("/")[0]
        start = self.root / directory if directory and is_safe_key(directory) else self.root
        for folder, subfolders, files in os.walk(start):
            subfolders[:] = [name for name in subfolders if name != INCOMING]
            base = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                yield name if base == "." else f"{base}/{name}"

    def delete(self, key: str) -> None:
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # empty run and artifact directories go too
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        file_name: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        return None

    def presigned_put(
        self, key: str, expires_s: int, *, content_type: str, sha256: str
    ) -> PresignedUpload | None:
        return None

    def sweep_incomplete(self, older_than: datetime) -> int:
        incoming = self.root / INCOMING
        removed = 0
        for path in incoming.glob("*.part") if incoming.is_dir() else ():
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def check(self) -> None:
        try:
            _private_dir(self.root)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            message = f"cannot write artifacts under {self.root}: {exc}"
            raise ArtifactStoreUnavailable(message) from exc

    def __repr__(self) -> str:
        return f"FilesystemArtifactStore({quote(str(self.root))})"


def _encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed cursor") from None
