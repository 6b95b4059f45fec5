"""PostgreSQL through psycopg 3 (``postgresql+psycopg://user@host/db``).

Every table lives in the ``observability`` schema; measurements are range-partitioned by
month, and the partition of each month written to is created before the insert.
"""

import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Final, cast

import psycopg
from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Engine,
    Table,
    Text,
    create_engine,
    func,
    select,
    text,
    type_coerce,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert
from sqlalchemy.exc import DBAPIError

from vigil.storage._backend import STEP_NOTIFY_CHANNEL, Backend, json_dumps, json_loads
from vigil.storage._liveness import ping_when_idle
from vigil.storage._rows import EncodedRow, datetime_formatter, epoch_formatter, nanos_formatter
from vigil.storage._schema import PG_SCHEMA

CONNECT_TIMEOUT_S: Final = 5
STATEMENT_TIMEOUT_MS: Final = 30_000
"""Upper bound of any statement of the store; health checks use a much shorter one."""

ENSURE_PARTITION_SQL: Final = text(f"SELECT {PG_SCHEMA}.ensure_measurement_partition(:month)")
"""Creates the month's partition if missing (the function is defined by the migration)."""


POOL_SIZE = 20
POOL_OVERFLOW = 20


class PostgresBackend(Backend):
    name = "postgresql"
    epoch_text = staticmethod(epoch_formatter("+00:00"))
    timestamp_text = staticmethod(datetime_formatter("+00:00"))
    nanos_text = staticmethod(nanos_formatter("+00:00"))

    def __init__(self, url: URL) -> None:
        self._url = url.set(drivername="postgresql+psycopg")
        self._months: set[date] = set()
        self._months_lock = threading.Lock()

    def create_engine(self) -> Engine:
        engine = create_engine(
            self._url,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            # Bound values never appear in exception text, hence never in a log line: a body
            # the database refused once put a password from its metadata into GET /logs.
            hide_parameters=True,
            # Up to as many connections as the controller has threads that may use one at
            # once (AnyIO's default thread pool: 40); SQLAlchemy's default 5 + 10 overflow
            # opens and closes a server connection (a backend fork) per request beyond 15.
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
        )
        # In place of pool_pre_ping (a round trip per checkout): survive a server restart.
        ping_when_idle(engine)
        return engine.execution_options(schema_translate_map={None: PG_SCHEMA})

    def start(self) -> None:
        pass  # the server does its own housekeeping

    def stop(self) -> None:
        pass

    def step_announcement(self, run_id: ColumnElement[Any]) -> ColumnElement[Any] | None:
        # Evaluated per updated run, in the statement that takes its step numbers (no round
        # trip of its own); PostgreSQL delivers at commit, once per distinct payload, and
        # drops the notifications if the transaction rolls back.
        return func.pg_notify(STEP_NOTIFY_CHANNEL, sa_cast(run_id, Text))

    def begin_write(self, engine: Engine) -> AbstractContextManager[Connection]:
        return engine.begin()

    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[EncodedRow]
    ) -> None:
        # COPY: ~190k rows/s here against ~80k for executemany (python-facts.md).
        quote = conn.dialect.identifier_preparer.quote
        statement = (
            f"COPY {PG_SCHEMA}.{quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
        )
        driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            # Same exception types as the rest of the store sees (OperationalError...).
            raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc

    def insert(self, table: Table) -> Insert:
        return insert(table)

    def labels_contain(self, column: Any, labels: Mapping[str, str]) -> ColumnElement[bool]:
        return type_coerce(column, JSONB()).contains(dict(labels))

    def percentile(
        self, conn: Connection, value: Any, where: Iterable[ColumnElement[bool]], q: float
    ) -> float | None:
        result = conn.scalar(select(func.percentile_cont(q).within_group(value)).where(*where))
        return None if result is None else float(result)

    def set_statement_timeout(self, conn: Connection, seconds: float) -> None:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")

    def ensure_measurement_months(self, engine: Engine, months: Iterable[date]) -> None:
        missing = sorted(set(months) - self._months)
        if not missing:
            return
        # Its own committed transaction: a partition created inside the insert's transaction
        # would vanish on rollback while this cache still believed in it.
        with self._months_lock, engine.begin() as conn:
            for month in missing:
                conn.execute(ENSURE_PARTITION_SQL, {"month": month})
            self._months.update(missing)
