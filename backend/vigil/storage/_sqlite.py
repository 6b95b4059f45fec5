"""SQLite: the embedded default (``sqlite:///./data/vigil.db``)."""

import contextlib
import math
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    create_engine,
    event,
    func,
    select,
    true,
)
from sqlalchemy.dialects.sqlite import Insert, insert
from sqlalchemy.exc import DBAPIError

from vigil.storage._backend import Backend, json_dumps, json_loads
from vigil.storage._rows import EncodedRow, datetime_formatter, epoch_formatter, nanos_formatter
from vigil.storage._wal_checkpointer import WalCheckpointer

BUSY_TIMEOUT_MS: Final = 5_000
"""How long a writer waits for another writer's lock before giving up."""

PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",  # readers never block the writer, nor the writer readers
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",  # safe in WAL mode: a crash loses at most the last commits
    "PRAGMA foreign_keys=ON",
    # Checkpoints run on a background thread (_wal_checkpointer.py), not inside commits; the WAL
    # file is cut back to this size after each complete checkpoint.
    "PRAGMA wal_autocheckpoint=0",
    f"PRAGMA journal_size_limit={64 * 1024 * 1024}",
)

_WRITE: Final = "vigil_write"

MAX_VARIABLES: Final = 999
"""Bound parameters per statement: SQLite's limit before 3.32 (32,766 since)."""


class SqliteBackend(Backend):
    name = "sqlite"
    epoch_text = staticmethod(epoch_formatter(""))
    timestamp_text = staticmethod(datetime_formatter(""))
    nanos_text = staticmethod(nanos_formatter(""))

    def __init__(self, url: URL) -> None:
        database = url.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            raise ValueError(
                "an in-memory SQLite database is private to one connection; "
                "use a file URL such as sqlite:///./data/vigil.db"
            )
        # Absolute, so the engine and the checkpointer thread agree even if the cwd changes.
        self.path = Path(database).resolve()
        self._url = url.set(database=str(self.path))
        self._checkpointer: WalCheckpointer | None = None
        # SQLite runs one write transaction at a time anyway; taking turns on a lock in the
        # process hands over at once, where the busy handler would sleep 1..100 ms per retry
        # (busy_timeout still covers writers in other processes).
        self._write_lock = threading.RLock()

    def create_engine(self) -> Engine:
        make_private(self.path)
        engine = create_engine(
            self._url,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            hide_parameters=True,  # see the PostgreSQL backend: no bound value in any error
            # The controller serves requests from a thread pool; SQLite connections are
            # used by one thread at a time through the pool.
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_connection)
        event.listen(engine, "begin", _begin)
        return engine

    def start(self) -> None:
        self._checkpointer = WalCheckpointer(self.path, BUSY_TIMEOUT_MS / 1000, self._write_lock)
        self._checkpointer.start()

    def stop(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    def step_announcement(self, run_id: ColumnElement[Any]) -> ColumnElement[Any] | None:
        del run_id  # no channel: the controller's step feed polls SQLite
        return None

    def ensure_measurement_months(self, engine: Engine, months: Iterable[date]) -> None:
        del engine, months  # one table, no partitions

    @contextmanager
    def begin_write(self, engine: Engine) -> Iterator[Connection]:
        with self._write_lock, engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def begin_migration(self, engine: Engine) -> Iterator[Connection]:
        """SQLite's procedure for table rebuilds (www.sqlite.org/lang_altertable.html, "making
        other kinds of table schema changes"): foreign keys off outside the transaction (the
        pragma is a no-op inside one), the rebuild, ``PRAGMA foreign_key_check`` before the
        commit. Alembic's batch mode, which rebuilds tables, asks for exactly this."""
        with self._write_lock, engine.connect() as conn:
            # On the driver's connection (autocommit): SQLAlchemy would begin a transaction
            # first, in which the pragma does nothing.
            raw = conn.connection.driver_connection
            assert raw is not None  # noqa: S101 - a live sqlite3 connection
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[EncodedRow]
    ) -> None:
        # Many rows per statement, not executemany (one statement run per row): SQLite does
        # less per row (~73,000 -> ~107,000 rows/s for steps here), and the sqlite3 module
        # gives the GIL back and takes it again once per statement instead of once per row,
        # which producer threads holding the GIL make slow.
        rows = list(rows)
        if not rows:
            return
        quote = conn.dialect.identifier_preparer.quote
        head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608  (identifiers from our Table, quoted)
        one_row = f"({', '.join('?' * len(columns))})"
        per_statement = max(1, MAX_VARIABLES // len(columns))
        cursor = cast("sqlite3.Connection", conn.connection.driver_connection).cursor()
        statement = head + ", ".join([one_row] * per_statement)
        try:
            whole = len(rows) - len(rows) % per_statement
            for start in range(0, whole, per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(statement, list(chain.from_iterable(chunk)))
            if whole < len(rows):
                rest = rows[whole:]
                statement = head + ", ".join([one_row] * len(rest))
                cursor.execute(statement, list(chain.from_iterable(rest)))
        except sqlite3.Error as exc:
            # Same exception types as the rest of the store sees (IntegrityError...).
            # The statement's text is ~3 KB of placeholders: name the table instead.
            what = f"INSERT INTO {table.name} ({len(rows)} rows)"
            raise DBAPIError.instance(what, None, exc, sqlite3.Error) from exc
        finally:
            cursor.close()

    def insert(self, table: Table) -> Insert:
        return insert(table)

    def labels_contain(self, column: Any, labels: Mapping[str, str]) -> ColumnElement[bool]:
        if not labels:
            return true()
        # The JSON path is a bound parameter: a key can only fail to match, never inject SQL.
        return and_(
            *(func.json_extract(column, f'$."{key}"') == value for key, value in labels.items())
        )

    def percentile(
        self, conn: Connection, value: Any, where: Iterable[ColumnElement[bool]], q: float
    ) -> float | None:
        # percentile_cont semantics (linear interpolation between the two closest ranks),
        # computed with two indexed queries instead of loading every value.
        conditions = list(where)
        count = conn.scalar(select(func.count()).where(*conditions))
        if not count:
            return None
        position = q * (count - 1)
        lower = math.floor(position)
        fraction = position - lower
        values = conn.scalars(
            select(value).where(*conditions).order_by(value).offset(lower).limit(2)
        ).all()
        if fraction == 0 or len(values) == 1:
            return float(values[0])
        return float(values[0] + fraction * (values[1] - values[0]))

    def set_statement_timeout(self, conn: Connection, seconds: float) -> None:
        # SQLite has no statement timeout; its only waits are on locks (busy_timeout).
        del conn, seconds


def make_private(path: Path) -> None:
    """Create the database file (and its directory) readable by its owner only.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so making the
    file private before the first connection covers all three. An existing file loses the
    bits that let other users in (a group may keep read access, as an operator chose).
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o027:
                file.chmod(mode & ~0o027)


def _configure_connection(dbapi_connection: Any, connection_record: Any) -> None:
    del connection_record
    # Take transaction control away from the sqlite3 module: _begin issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _begin(conn: Connection) -> None:
    # A writer takes the write lock at BEGIN: a deferred transaction that reads first and
    # writes later fails with SQLITE_BUSY_SNAPSHOT instead of waiting on busy_timeout.
    if conn.get_execution_options().get(_WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
