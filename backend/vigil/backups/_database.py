"""The event store's database, whichever engine: which part a backup makes of it, how it is
dumped, restored and counted. Chosen from the URL, as ``open_store`` chooses its backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import make_url

from vigil.artifacts import ObjectWriter
from vigil.backups import _postgres, _sqlite
from vigil.backups._dump import DatabaseDump
from vigil.backups.errors import BackupCorrupt
from vigil.storage._factory import POSTGRES_DRIVERS, SQLITE_DRIVERS

Engine = Literal["sqlite", "postgresql"]
PART_NAMES: Final[dict[Engine, str]] = {
    "postgresql": "database.pgdump",
    "sqlite": "database.sqlite3.gz",
}
PART_FORMATS: Final[dict[Engine, str]] = {
    "postgresql": "pg_dump-custom",
    "sqlite": "sqlite3+gzip",
}
CONTENT_TYPES: Final[dict[Engine, str]] = {
    "postgresql": "application/octet-stream",
    "sqlite": "application/gzip",
}


def engine_of(url: str) -> Engine:
    driver = make_url(url).drivername
    if driver in SQLITE_DRIVERS:
        return "sqlite"
    if driver in POSTGRES_DRIVERS:
        return "postgresql"
    raise ValueError(f"unsupported store URL scheme {driver!r}")


def dump_database(
    url: str, writer: ObjectWriter, *, pg_bin_dir: Path | None, work_dir: Path | None
) -> DatabaseDump:
    if engine_of(url) == "postgresql":
        return _postgres.backup_postgres(url, writer, bin_dir=pg_bin_dir)
    return _sqlite.backup_sqlite(url, writer, work_dir=work_dir)


def restore_database(
    url: str, copy: Path, *, pg_bin_dir: Path | None, expected_rows: Mapping[str, int]
) -> None:
    """Replace the database with ``copy``; nothing changes unless the restored tables have
    ``expected_rows`` (PostgreSQL: checked inside the restore's transaction; SQLite: in the
    copy, which the backup API then copies page for page)."""
    if engine_of(url) == "postgresql":
        _postgres.restore_postgres(url, copy, bin_dir=pg_bin_dir, expected_rows=expected_rows)
        return
    _sqlite.check_copy(copy)
    counted = _sqlite.copy_row_counts(copy)
    if counted != dict(expected_rows):
        differing = sorted(
            t for t in set(counted) | set(expected_rows) if counted.get(t) != expected_rows.get(t)
        )
        raise BackupCorrupt(
            f"the database part's tables {differing} do not have the manifest's row counts"
        )
    _sqlite.restore_sqlite(url, copy)


def row_counts(url: str) -> dict[str, int]:
    if engine_of(url) == "postgresql":
        return _postgres.database_row_counts(url)
    return _sqlite.database_row_counts(url)
