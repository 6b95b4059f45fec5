"""Measurements: recording points, querying them, percentiles."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    select,
)

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    PERCENTILES,
    MeasurementCreate,
    MeasurementPoint,
    Page,
    utc_now,
)
from vigil.storage._cursor import (
    decode_time_id_cursor,
)
from vigil.storage._rows import (
    MEASUREMENT_COLUMNS,
    measurement_rows,
    months_of,
)
from vigil.storage._schema import (
    measurements,
)
from vigil.storage._sql_base import (
    SqlStoreBase,
    after_key,
    check_limit,
    page_of,
)


class MeasurementQueries(SqlStoreBase):
    def record_measurements(
        self, points: Sequence[MeasurementCreate], *, project_id: str | None = None
    ) -> int:
        if not points:
            return 0
        now = utc_now()
        self._prepare_measurement_months(points, now)
        rows = measurement_rows(points, now, self._backend.timestamp_text, project_id)
        with self._write() as conn:
            self._backend.bulk_insert(conn, measurements, MEASUREMENT_COLUMNS, rows)
        return len(points)

    def _prepare_measurement_months(
        self, points: Sequence[MeasurementCreate], now: datetime
    ) -> None:
        if points:
            self._backend.ensure_measurement_months(
                self._engine,
                (date(year, month, 1) for year, month in months_of(points, now)),
            )

    def _measurement_conditions(
        self,
        name: str,
        since: datetime | None,
        until: datetime | None,
        labels: Mapping[str, str] | None,
        project_id: str | None,
    ) -> list[ColumnElement[bool]]:
        conditions = [measurements.c.name == name]
        if project_id is not None:
            conditions.append(measurements.c.project_id == project_id)
        if since is not None:
            conditions.append(measurements.c.recorded_at >= since)
        if until is not None:
            conditions.append(measurements.c.recorded_at < until)
        if labels:
            conditions.append(self._backend.labels_contain(measurements.c.labels, labels))
        return conditions

    def query_measurements(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[MeasurementPoint]:
        check_limit(limit)
        conditions = self._measurement_conditions(name, since, until, labels, project_id)
        if cursor is not None:
            after = decode_time_id_cursor("measurements", cursor)
            conditions.append(after_key(measurements.c.recorded_at, measurements.c.id, after))
        query = (
            select(measurements)
            .where(*conditions)
            .order_by(measurements.c.recorded_at, measurements.c.id)
            .limit(limit + 1)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return page_of(
            MeasurementPoint, rows, limit, "measurements", lambda p: (p.recorded_at, p.id)
        )

    def percentile(
        self,
        name: str,
        q: float,
        *,
        window: timedelta,
        labels: Mapping[str, str] | None = None,
        until: datetime | None = None,
        project_id: str | None = None,
    ) -> float | None:
        if q not in PERCENTILES:
            raise ValueError(f"q must be one of {PERCENTILES}")
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        end = until if until is not None else utc_now()
        try:
            since: datetime | None = end - window
        except OverflowError:  # the window starts before year 1: all of what exists
            since = None
        conditions = self._measurement_conditions(name, since, end, labels, project_id)
        with self._read() as conn:
            return self._backend.percentile(conn, measurements.c.value, conditions, q)
