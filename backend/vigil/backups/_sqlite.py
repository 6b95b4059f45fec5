"""SQLite: a copy made with the online backup API, stored gzip-compressed; restored the same
way into the live database file.

``sqlite3.Connection.backup`` with ``pages=-1`` copies the whole database in one step, inside
one read transaction: in WAL mode the controller's writers go on committing meanwhile, and the
copy is the database as of that transaction's start, never half a commit (what a file copy of
``vigil.db`` while ``vigil.db-wal`` is written would be). The row counts and the schema
revision of the manifest are read from the copy, so they are exactly the copy's.

The restore checks the copy (``PRAGMA integrity_check``) and then runs the backup API the
other way, from the copy into the database: one write transaction, so a reader sees the old
database or the restored one, and the file keeps its WAL mode and its private mode (600).
"""

from __future__ import annotations

import gzip
import sqlite3
import tempfile
import zlib
from contextlib import closing
from pathlib import Path
from typing import Final

from sqlalchemy import make_url

from vigil.artifacts import ObjectWriter
from vigil.backups._dump import DatabaseDump
from vigil.backups._streams import WriterFile
from vigil.backups.errors import BackupCorrupt, BackupError
from vigil.storage._sqlite import BUSY_TIMEOUT_MS, SqliteBackend, make_private

CHUNK_BYTES: Final = 1024 * 1024
COMPRESS_LEVEL: Final = 6


def database_path(url: str) -> Path:
    """The database file of a ``sqlite:///`` URL (absolute)."""
    return SqliteBackend(make_url(url)).path


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Exact rows of every table (SQLite's own ``sqlite_*`` tables left out)."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    quoted = {table: '"' + table.replace('"', '""') + '"' for table in tables}
    return {
        table: int(conn.execute(f"SELECT count(*) FROM {quoted[table]}").fetchone()[0])  # noqa: S608 - quoted identifiers from sqlite_master
        for table in tables
    }


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def copy_row_counts(copy: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as conn:
        return count_rows(conn)


def database_row_counts(url: str) -> dict[str, int]:
    with closing(sqlite3.connect(database_path(url), timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
        return count_rows(conn)


def backup_sqlite(url: str, writer: ObjectWriter, *, work_dir: Path | None = None) -> DatabaseDump:
    """Copy the database with the online backup API and stream the copy, gzip-compressed,
    into ``writer``; the caller commits. The copy lives in a temporary file meanwhile."""
    path = database_path(url)
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    with tempfile.TemporaryDirectory(prefix="vigil-backup-", dir=work_dir) as work:
        copy = Path(work) / "vigil.db"
        source = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            with closing(sqlite3.connect(copy)) as target:
                source.backup(target, pages=-1)
                counts = count_rows(target)
                revision = _revision(target)
        finally:
            source.close()
        with (
            copy.open("rb") as data,
            gzip.GzipFile(
                fileobj=WriterFile(writer), mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0
            ) as compressed,
        ):
            while chunk := data.read(CHUNK_BYTES):
                compressed.write(chunk)
    return DatabaseDump(counts, revision, sqlite3.sqlite_version)


class GunzipToFile:
    """Decompress a gzip stream into a file as its chunks arrive (the download of a part).

    A decoding error is kept for ``finish``: the caller compares the part's sha256 first,
    whose message (which part, what was recorded) says more than zlib's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self._inflate = zlib.decompressobj(wbits=31)
        self._error: str | None = None

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            return
        try:
            self._file.write(self._inflate.decompress(chunk))
        except zlib.error as exc:
            self._error = str(exc)

    def close(self) -> None:
        self._file.close()

    def finish(self) -> None:
        """Close; ``BackupCorrupt`` if the stream was not one whole gzip member."""
        try:
            if self._error is None:
                self._file.write(self._inflate.flush())
                if not self._inflate.eof:
                    self._error = "the stream ends early"
        finally:
            self._file.close()
        if self._error is not None:
            raise BackupCorrupt(f"the database part is not valid gzip: {self._error}")


def check_copy(copy: Path) -> None:
    """``BackupCorrupt`` unless ``copy`` is a sound SQLite database."""
    try:
        with closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupCorrupt(f"the database part is not a SQLite database: {exc}") from None
    if verdict is None or verdict[0] != "ok":
        raise BackupCorrupt(f"the database part fails SQLite's integrity check: {verdict}")


def restore_sqlite(url: str, copy: Path) -> None:
    """Replace the database at ``url`` with ``copy`` (one write transaction; check it with
    ``check_copy`` first)."""
    path = database_path(url)
    if not path.exists():
        # A -wal file left without its database would be replayed into the new one.
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    make_private(path)  # the directory and an empty file, both private, if they are gone
    with (
        closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as target,
    ):
        source.backup(target, pages=-1)
