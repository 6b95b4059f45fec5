"""What only the SQLite backend does: per-connection pragmas and WAL checkpoints."""

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigil.models import LogCreate, LogLevel
from vigil.storage import open_store, upgrade


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
