"""Execution log queries."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    select,
)

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    LogLevel,
    LogRecord,
    Page,
    levels_at_least,
)
from vigil.storage._cursor import (
    decode_time_id_cursor,
)
from vigil.storage._schema import (
    logs,
)
from vigil.storage._sql_base import (
    SqlStoreBase,
    after_key,
    check_limit,
    page_of,
)


class LogQueries(SqlStoreBase):
    def query_logs(
        self,
        *,
        request_id: str | None = None,
        run_id: UUID | None = None,
        level: LogLevel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[LogRecord]:
        check_limit(limit)
        conditions: list[ColumnElement[bool]] = []
        if project_id is not None:
            conditions.append(logs.c.project_id == project_id)
        if request_id is not None:
            conditions.append(logs.c.request_id == request_id)
        if run_id is not None:
            conditions.append(logs.c.run_id == run_id)
        if level is not None and level is not LogLevel.DEBUG:
            conditions.append(logs.c.level.in_([lvl.value for lvl in levels_at_least(level)]))
        if since is not None:
            conditions.append(logs.c.timestamp >= since)
        if until is not None:
            conditions.append(logs.c.timestamp < until)
        if cursor is not None:
            after = decode_time_id_cursor("logs", cursor)
            conditions.append(after_key(logs.c.timestamp, logs.c.id, after))
        query = (
            select(logs).where(*conditions).order_by(logs.c.timestamp, logs.c.id).limit(limit + 1)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return page_of(LogRecord, rows, limit, "logs", lambda log: (log.timestamp, log.id))
