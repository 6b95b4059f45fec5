"""What every query module of the SQL store shares: the engine, transactions, row helpers."""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    case,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from vigil.models import (
    MAX_PAGE_SIZE,
    Page,
)
from vigil.storage._backend import Backend
from vigil.storage._cursor import (
    CursorKey,
    encode_cursor,
)
from vigil.storage._liveness import once_more_if_reconnected
from vigil.storage._schema import runs
from vigil.storage.errors import InvalidData, NotFound, StoreUnavailable

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
RowDict = dict[str, Any]


class SqlStoreBase:
    """The engine and transactions of one store; the query mixins build on it."""

    backend: str

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.backend = backend.name
        self._engine = backend.create_engine()
        backend.start()

    # Transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._backend.begin_write(self._engine) as conn:
                yield conn
        except (OperationalError, PoolTimeoutError) as exc:
            raise StoreUnavailable(f"{self.backend} store unavailable: {exc}") from exc
        except DataError as exc:
            raise refused_value(exc) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except (OperationalError, PoolTimeoutError) as exc:
            raise StoreUnavailable(f"{self.backend} store unavailable: {exc}") from exc
        except DataError as exc:
            raise refused_value(exc) from None

    def health_check(self, timeout: float = 2.0) -> bool:
        def select_one() -> None:
            with self._engine.connect() as conn:
                self._backend.set_statement_timeout(conn, timeout)
                conn.execute(text("SELECT 1"))

        try:
            once_more_if_reconnected(select_one)
        except SQLAlchemyError as exc:
            logger.warning("store health check failed: %s", exc)
            return False
        return True

    def close(self) -> None:
        self._engine.dispose()
        self._backend.stop()

    # Helpers -----------------------------------------------------------------------------

    @staticmethod
    def _require(conn: Connection, table: Table, row_id: UUID, what: str) -> None:
        found(conn.scalar(select(table.c.id).where(table.c.id == row_id)), what, row_id)


def refused_value(exc: DataError) -> InvalidData:
    """A refused value, told without the database's message: PostgreSQL quotes the data it
    refused (``CONTEXT: JSON data, line 1: {"password": ...``), and bound parameters are
    hidden from SQLAlchemy's text already (``hide_parameters``)."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return InvalidData(f"the database refused a value of the request (SQLSTATE {sqlstate})")


def found(value: T | None, what: str, row_id: object) -> T:
    if value is None:
        raise NotFound(f"{what} {row_id} not found")
    return value


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")


def to_model(model: type[ModelT], row: Row[Any]) -> ModelT:
    return model.model_validate(row._asdict())


def page_of(
    model: type[ModelT],
    rows: Sequence[Row[Any]],
    limit: int,
    listing: str,
    key: Callable[[ModelT], CursorKey],
) -> Page[ModelT]:
    """A page from ``limit + 1`` rows: the extra row only tells that a next page exists."""
    items = [to_model(model, row) for row in rows[:limit]]
    next_cursor = encode_cursor(listing, key(items[-1])) if len(rows) > limit else None
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def after_key(time_column: Any, id_column: Any, key: tuple[datetime, UUID]) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in (time, id) order: a row-value comparison, which both
    engines answer from a (time, id) index."""
    return tuple_(time_column, id_column) > tuple_(
        literal(key[0], time_column.type), literal(key[1], id_column.type)
    )


def before_key(time_column: Any, id_column: Any, key: tuple[datetime, UUID]) -> ColumnElement[bool]:
    return tuple_(time_column, id_column) < tuple_(
        literal(key[0], time_column.type), literal(key[1], id_column.type)
    )


def unless(condition: ColumnElement[bool], keep: Any, new: Any) -> Any:
    return case((condition, keep), else_=new)


def of_project(project_id: str | None) -> list[ColumnElement[bool]]:
    """The condition restricting runs to one project (none: every project)."""
    return [] if project_id is None else [runs.c.project_id == project_id]


def the_run(run_id: UUID, project_id: str | None) -> list[ColumnElement[bool]]:
    """The conditions selecting one run, in one project when one is given."""
    return [runs.c.id == run_id, *of_project(project_id)]
