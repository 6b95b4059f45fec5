"""LangGraph's checkpointer on the controller's database, built from Vigil's settings.

- **PostgreSQL** (``VIGIL_DATABASE_URL=postgresql+psycopg://...``): LangGraph's own
  ``PostgresSaver`` / ``AsyncPostgresSaver`` (langgraph-checkpoint-postgres) on a
  ``psycopg_pool`` pool, its tables in a schema of their own (``langgraph``), next to
  Vigil's ``observability`` schema and out of its migrations. The pool's connections are
  what the savers require (``autocommit=True``, ``dict_row``) with ``prepare_threshold=0``
  (no server-side prepared statements: they break behind PgBouncer, and a statement
  prepared on a connection the server dropped fails the next call), and every connection is
  checked when taken from the pool (``check=ConnectionPool.check_connection``): one the
  server or a proxy closed while idle is replaced instead of failing the agent's next step
  (langgraph #7304). ``max_idle`` closes connections idle for long anyway.
- **SQLite** (the embedded default, ``sqlite:///./data/vigil.db``): LangGraph's
  ``SqliteSaver`` / ``AsyncSqliteSaver`` (langgraph-checkpoint-sqlite) in a file of its own
  next to the controller's database (``langgraph-checkpoints.db``): the savers hold their
  connection's lock while they write, which must not be the event store's write lock.
  Vigil opens their connection itself, with a 30 s busy timeout (the sqlite3 default, 5 s,
  was too short for agents starting together on a loaded machine: "database is locked"
  from the test suite), and retries ``setup()`` while another agent holds the file's lock
  (for at most that timeout in all).

The native stack (``vigil stack up``) makes the ``langgraph`` schema, owned by the
controller's role; elsewhere it is created if the role may. The tables are set up when the
checkpointer opens (``setup()``: LangGraph's migrations,
idempotent); on PostgreSQL under an advisory lock, so agents starting together do not race
on the migration table (taken by polling ``pg_try_advisory_lock``: see ``_lock_for_setup``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from vigil.settings import Settings

SCHEMA: Final = "langgraph"
SQLITE_FILE: Final = "langgraph-checkpoints.db"
SETUP_LOCK: Final = 0x76_69_67_69_6C_4C_47  # "vigilLG": the advisory lock of setup()
POSTGRES_SCHEMES: Final = ("postgresql+psycopg", "postgresql", "postgres")
SQLITE_SCHEMES: Final = ("sqlite", "sqlite+pysqlite")
MAX_IDLE_S: Final = 300.0
TRY_LOCK: Final = "SELECT pg_try_advisory_lock(%s) AS locked"
LOCK_POLL_S: Final = 0.05
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
SQLITE_SETUP_ATTEMPTS: Final = 20
SCHEMA_EXISTS: Final = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
"""Checked before ``CREATE SCHEMA``: the native stack's role owns ``langgraph`` but may not
create schemas, and PostgreSQL checks that privilege even for ``IF NOT EXISTS``."""


@dataclass(frozen=True)
class CheckpointDatabase:
    """Where the checkpoints live: a libpq connection string, or a SQLite file."""

    kind: Literal["postgres", "sqlite"]
    target: str

    @classmethod
    def from_url(cls, url: str) -> CheckpointDatabase:
        """From a Vigil store URL (``VIGIL_DATABASE_URL``'s form)."""
        scheme, sep, rest = url.partition("://")
        if not sep:
            raise ValueError(f"not a database URL: {url!r}")
        if scheme in POSTGRES_SCHEMES:
            return cls("postgres", f"postgresql://{rest}")
        if scheme in SQLITE_SCHEMES:
            path = rest[1:] if rest.startswith("/") else rest  # sqlite:///rel, sqlite:////abs
            path = path.split("?", 1)[0]
            if not path or path == ":memory:":
                raise ValueError("the checkpointer needs a SQLite file, not an in-memory database")
            return cls("sqlite", str(Path(path).parent / SQLITE_FILE))
        raise ValueError(f"unsupported database URL scheme {scheme!r}")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CheckpointDatabase:
        """From the controller's settings (``VIGIL_DATABASE_URL``)."""
        if settings is None:
            from vigil.settings import Settings

            settings = Settings()
        return cls.from_url(settings.database_url)


def _database(settings: Settings | None, database_url: str | None) -> CheckpointDatabase:
    if database_url is not None:
        return CheckpointDatabase.from_url(database_url)
    return CheckpointDatabase.from_settings(settings)


def connection_kwargs() -> dict[str, Any]:
    """What every pooled connection is opened with (see the module's docstring)."""
    from psycopg.rows import dict_row

    return {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "options": f"-c search_path={SCHEMA}",
    }


def _retry_setup(exc: sqlite3.OperationalError, attempt: int, deadline: float) -> bool:
    """Whether a SQLite ``setup()`` that failed with ``exc`` is tried again: while another
    agent holds the file's lock, within the attempts and the busy timeout."""
    within = attempt < SQLITE_SETUP_ATTEMPTS and time.monotonic() <= deadline
    return within and "locked" in str(exc)


def _lock_for_setup(conn: Any) -> None:
    """Take the setup lock, polling: a session waiting in ``pg_advisory_lock`` holds a
    snapshot, and the ``CREATE INDEX CONCURRENTLY`` of LangGraph's migrations in the session
    that holds the lock waits for every snapshot to go: both would wait forever (found by
    tests/integrations/langgraph/test_checkpointer.py, two agents starting together)."""
    while not conn.execute(TRY_LOCK, (SETUP_LOCK,)).fetchone()["locked"]:
        time.sleep(LOCK_POLL_S)


async def _alock_for_setup(conn: Any) -> None:
    while True:  # polled, as in _lock_for_setup: the lock is another process's
        row = await (await conn.execute(TRY_LOCK, (SETUP_LOCK,))).fetchone()
        if row["locked"]:
            return
        await asyncio.sleep(LOCK_POLL_S)


@contextmanager
def open_checkpointer(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    pool_size: int = 5,
) -> Iterator[BaseCheckpointSaver[Any]]:
    """A ``PostgresSaver`` on a pool, or a ``SqliteSaver``, set up; closed on exit.

    with open_checkpointer() as checkpointer:        # VIGIL_DATABASE_URL
        graph = builder.compile(checkpointer=checkpointer)
    """
    database = _database(settings, database_url)
    if database.kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        Path(database.target).parent.mkdir(parents=True, exist_ok=True)
        # As SqliteSaver.from_conn_string connects, with a longer busy timeout.
        conn = sqlite3.connect(
            database.target, check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT_S
        )
        with closing(conn):
            sqlite_saver = SqliteSaver(conn)
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
            for attempt in range(1, SQLITE_SETUP_ATTEMPTS + 1):
                try:
                    sqlite_saver.setup()
                    break
                except sqlite3.OperationalError as exc:
                    if not _retry_setup(exc, attempt, deadline):
                        raise
                    time.sleep(LOCK_POLL_S * attempt)
            yield sqlite_saver
        return
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg_pool import ConnectionPool

    pool: ConnectionPool[Any] = ConnectionPool(
        database.target,
        min_size=1,
        max_size=max(pool_size, 2),  # setup() takes a second connection under the lock
        kwargs=connection_kwargs(),
        check=ConnectionPool.check_connection,
        max_idle=MAX_IDLE_S,
        open=False,
        name="vigil-langgraph",
    )
    pool.open(wait=True)
    try:
        saver = PostgresSaver(pool)
        with pool.connection() as conn:
            _lock_for_setup(conn)
            try:
                if conn.execute(SCHEMA_EXISTS, (SCHEMA,)).fetchone() is None:
                    conn.execute(f"CREATE SCHEMA {SCHEMA}")
                saver.setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield saver
    finally:
        pool.close()


@asynccontextmanager
async def open_async_checkpointer(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    pool_size: int = 5,
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """``open_checkpointer`` for ``ainvoke``/``astream``: an ``AsyncPostgresSaver`` on an
    ``AsyncConnectionPool``, or an ``AsyncSqliteSaver``."""
    database = _database(settings, database_url)
    if database.kind == "sqlite":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        Path(database.target).parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(database.target, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
            sqlite_saver = AsyncSqliteSaver(conn)
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
            for attempt in range(1, SQLITE_SETUP_ATTEMPTS + 1):
                try:
                    await sqlite_saver.setup()
                    break
                except sqlite3.OperationalError as exc:
                    if not _retry_setup(exc, attempt, deadline):
                        raise
                    await asyncio.sleep(LOCK_POLL_S * attempt)
            yield sqlite_saver
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database.target,
        min_size=1,
        max_size=max(pool_size, 2),
        kwargs=connection_kwargs(),
        check=AsyncConnectionPool.check_connection,
        max_idle=MAX_IDLE_S,
        open=False,
        name="vigil-langgraph-async",
    )
    await pool.open(wait=True)
    try:
        saver = AsyncPostgresSaver(pool)
        async with pool.connection() as conn:
            await _alock_for_setup(conn)
            try:
                if await (await conn.execute(SCHEMA_EXISTS, (SCHEMA,))).fetchone() is None:
                    await conn.execute(f"CREATE SCHEMA {SCHEMA}")
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield saver
    finally:
        await pool.close()
