"""What differs between the two databases, behind one small interface.

``SqlEventStore`` holds every query; a ``Backend`` supplies the engine and the few
dialect-specific pieces: how a write transaction begins, upserts, the JSON label filter,
percentiles, and (PostgreSQL only) the monthly measurement partitions.
"""

import abc
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Engine, Table
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

from vigil.models._types import json_text
from vigil.storage._rows import EncodedRow, EpochText, NanosText, TimestampText

STEP_NOTIFY_CHANNEL: Final = "vigil_steps"
"""PostgreSQL channel on which the store announces the runs that got steps (payload: run id),
delivered when the storing transaction commits; controllers LISTEN to wake step streams."""


def json_loads(text: str | bytes) -> Any:
    """JSON deserializer of both engines: the standard library's, because orjson reads
    integers beyond 64 bits as floats, and a stored value must come back as it was sent."""
    return json.loads(text)


def json_dumps(value: Any) -> str:
    """JSON serializer of both engines (orjson, ~10x the stdlib's speed, with its fallback)."""
    return json_text(value)


class Backend(abc.ABC):
    """One database engine family; chosen from the store URL by ``open_store``."""

    name: str
    """``sqlite`` or ``postgresql``: the store's ``backend`` attribute."""

    @abc.abstractmethod
    def create_engine(self) -> Engine:
        """A new engine, configured for this backend (pragmas, schema, timeouts)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start background duties while a store is open (SQLite: WAL checkpoints)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what ``start`` started; called by ``EventStore.close``."""

    @abc.abstractmethod
    def begin_write(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection inside a transaction that will write."""

    def begin_migration(self, engine: Engine) -> AbstractContextManager[Connection]:
        """The transaction migrations run in (SQLite: with foreign keys off, as its table
        rebuilds require)."""
        return self.begin_write(engine)

    timestamp_text: TimestampText
    """A timestamp in the text form the bulk path writes (``_rows.datetime_formatter``)."""

    epoch_text: EpochText
    """Seconds since the epoch in the same text form (``_rows.epoch_formatter``)."""

    nanos_text: NanosText
    """Nanoseconds since the epoch in the same text form (``_rows.nanos_formatter``)."""

    @abc.abstractmethod
    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[EncodedRow]
    ) -> None:
        """Insert encoded rows (``_rows``) in as few round trips as the engine allows."""

    @abc.abstractmethod
    def insert(self, table: Table) -> PostgresInsert | SqliteInsert:
        """The dialect's INSERT construct (it has ``on_conflict_do_*``)."""

    @abc.abstractmethod
    def labels_contain(self, column: Any, labels: Mapping[str, str]) -> ColumnElement[bool]:
        """True where the JSON object in ``column`` holds every key/value of ``labels``."""

    @abc.abstractmethod
    def percentile(
        self, conn: Connection, value: Any, where: Iterable[ColumnElement[bool]], q: float
    ) -> float | None:
        """The continuous percentile ``q`` of ``value`` over the rows matching ``where``."""

    @abc.abstractmethod
    def set_statement_timeout(self, conn: Connection, seconds: float) -> None:
        """Bound the statements of the current transaction (best effort on SQLite)."""

    @abc.abstractmethod
    def step_announcement(self, run_id: ColumnElement[Any]) -> ColumnElement[Any] | None:
        """What, in the RETURNING of the UPDATE that takes a run's step numbers, tells other
        processes on commit that the run has new steps (None: nothing to tell them with)."""

    @abc.abstractmethod
    def ensure_measurement_months(self, engine: Engine, months: Iterable[date]) -> None:
        """Make sure measurements of these months (first day of each) can be inserted."""
