"""What only the SQLite backend does: per-connection pragmas and WAL checkpoints."""

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigil.models import LogCreate, LogLevel
from vigil.storage import StoreUnavailable, open_store, upgrade
from vigil.storage._rows import STEP_COLUMNS
from vigil.storage._schema import steps


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/nested/dir/vigil.db"
    upgrade(url)
    return url


def test_directory_is_created_and_pragmas_hold_on_every_connection(
    sqlite_url: str, tmp_path: Path
) -> None:
    assert (tmp_path / "nested" / "dir" / "vigil.db").exists()
    with open_store(sqlite_url) as store:
        engine: sa.Engine = store._engine  # type: ignore[attr-defined]
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                pragma = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in (
                        "journal_mode",
                        "busy_timeout",
                        "synchronous",
                        "foreign_keys",
                        "wal_autocheckpoint",
                    )
                }
                assert pragma == {
                    "journal_mode": "wal",
                    "busy_timeout": 5000,
                    "synchronous": 1,  # NORMAL
                    "foreign_keys": 1,
                    "wal_autocheckpoint": 0,  # the background thread checkpoints
                }


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vigil-wal-checkpointer")]


def test_checkpointer_runs_while_open_and_close_empties_the_wal(
    sqlite_url: str, tmp_path: Path
) -> None:
    before = len(_checkpointers())
    store = open_store(sqlite_url)
    assert len(_checkpointers()) == before + 1
    store.write_batch(
        [LogCreate(level=LogLevel.INFO, logger="l", message="m" * 500, service="s")] * 2_000
    )
    wal = tmp_path / "nested" / "dir" / "vigil.db-wal"
    assert wal.exists()
    assert wal.stat().st_size > 0

    store.close()

    assert len(_checkpointers()) == before
    assert not wal.exists() or wal.stat().st_size == 0
    with open_store(sqlite_url) as reopened:
        assert len(reopened.query_logs(limit=1_000).items) == 1_000


def test_database_files_are_private(tmp_path: Path) -> None:
    """Finding (issue 9): the SQLite database was world-readable (0644). It is created 0600
    in a 0700 directory, its WAL files follow, and a file left 0644 by an older version
    loses what others could read."""
    url = f"sqlite:///{tmp_path}/data/vigil.db"
    upgrade(url)
    with open_store(url) as store:
        store.write_batch([LogCreate(level=LogLevel.INFO, logger="l", message="m", service="s")])
        for name in ("vigil.db", "vigil.db-wal", "vigil.db-shm"):
            path = tmp_path / "data" / name
            assert path.stat().st_mode & 0o077 == 0, name
    assert (tmp_path / "data").stat().st_mode & 0o077 == 0
    (tmp_path / "data" / "vigil.db").chmod(0o644)
    with open_store(url):
        assert (tmp_path / "data" / "vigil.db").stat().st_mode & 0o077 == 0o040


def test_errors_of_the_multi_row_insert_have_sqlalchemys_types(sqlite_url: str) -> None:
    """The steps' multi-row INSERT runs on the raw sqlite3 cursor: its errors still reach
    the store as SQLAlchemy's classes (a duplicate key: IntegrityError; "no such table",
    like "database is locked": OperationalError, which the store reports as
    StoreUnavailable), naming the table and row count, not ~3 KB of placeholders."""
    upgrade(sqlite_url)
    with open_store(sqlite_url) as store:
        backend = store._backend
        row = ("0" * 32, "1" * 32, 1, "thought", "s", "{}", None, None, "2026-12-01T00:00:00")
        rows = [row, row]  # the same id twice
        with pytest.raises(sa.exc.IntegrityError) as duplicate, store._write() as conn:
            backend.bulk_insert(conn, steps, STEP_COLUMNS, rows)
        assert "INSERT INTO steps (2 rows)" in str(duplicate.value)
        assert "?, ?" not in str(duplicate.value)
        with store._write() as conn:
            conn.exec_driver_sql("ALTER TABLE steps RENAME TO steps_elsewhere")
        with pytest.raises(StoreUnavailable, match="no such table"), store._write() as conn:
            backend.bulk_insert(conn, steps, STEP_COLUMNS, [row])
