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
