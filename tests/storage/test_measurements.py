"""Measurements: queries by name, time and label subset; percentiles; and on PostgreSQL the
monthly partitions created for whatever month is written to."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from vigil.models import MeasurementCreate, MeasurementKind, utc_now
from vigil.storage import EventStore, open_store

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _point(
    value: float, at: datetime, labels: dict[str, str] | None = None, name: str = "latency_s"
) -> MeasurementCreate:
    return MeasurementCreate(
        name=name, value=value, kind=MeasurementKind.HISTOGRAM, recorded_at=at, labels=labels or {}
    )


def test_query_by_name_time_and_labels(store: EventStore) -> None:
    store.record_measurements(
        [
            _point(1.0, T0, {"model": "a", "route": "/x"}),
            _point(2.0, T0 + timedelta(seconds=1), {"model": "b", "route": "/x"}),
            _point(3.0, T0 + timedelta(seconds=2), {"model": "a", "route": "/y"}),
            _point(9.0, T0, {"model": "a"}, name="other_metric"),
        ]
    )

    def values(**kwargs: object) -> list[float]:
        return [p.value for p in store.query_measurements("latency_s", **kwargs).items]  # type: ignore[arg-type]

    assert values() == [1.0, 2.0, 3.0]
    assert values(labels={"model": "a"}) == [1.0, 3.0]
    assert values(labels={"model": "a", "route": "/y"}) == [3.0]
    assert values(labels={"model": "c"}) == []
    assert values(since=T0 + timedelta(seconds=1)) == [2.0, 3.0]
    assert values(until=T0 + timedelta(seconds=2)) == [1.0, 2.0]
    (point,) = store.query_measurements("other_metric").items
    assert point.labels == {"model": "a"}
    assert point.kind is MeasurementKind.HISTOGRAM
    assert point.recorded_at == T0


def test_query_pages(store: EventStore) -> None:
    store.record_measurements([_point(float(n), T0 + timedelta(seconds=n)) for n in range(10)])
    first = store.query_measurements("latency_s", limit=4)
    second = store.query_measurements("latency_s", limit=4, cursor=first.next_cursor)
    third = store.query_measurements("latency_s", limit=4, cursor=second.next_cursor)
    values = [p.value for page in (first, second, third) for p in page.items]
    assert values == [float(n) for n in range(10)]
    assert third.next_cursor is None


def test_percentiles_interpolate_like_percentile_cont(store: EventStore) -> None:
    """Over 1..100: p50 = 50.5, p95 = 95.05, p99 = 99.01 on both backends."""
    store.record_measurements(
        [_point(float(v), T0 + timedelta(seconds=v), {"model": "a"}) for v in range(1, 101)]
    )
    end = T0 + timedelta(minutes=5)
    window = timedelta(minutes=10)

    assert store.percentile("latency_s", 0.5, window=window, until=end) == pytest.approx(50.5)
    assert store.percentile("latency_s", 0.95, window=window, until=end) == pytest.approx(95.05)
    assert store.percentile("latency_s", 0.99, window=window, until=end) == pytest.approx(99.01)
    labelled = store.percentile("latency_s", 0.5, window=window, until=end, labels={"model": "a"})
    assert labelled == pytest.approx(50.5)
    missing = store.percentile("latency_s", 0.5, window=window, until=end, labels={"model": "z"})
    assert missing is None


def test_percentile_window(store: EventStore) -> None:
    """Only points in [until - window, until) count; one point is its own percentile."""
    store.record_measurements([_point(10.0, T0), _point(20.0, T0 + timedelta(minutes=30))])
    end = T0 + timedelta(minutes=31)
    assert store.percentile("latency_s", 0.99, window=timedelta(minutes=5), until=end) == 20.0
    assert store.percentile("latency_s", 0.5, window=timedelta(hours=1), until=end) == 15.0
    assert store.percentile("latency_s", 0.5, window=timedelta(minutes=5), until=T0) is None


def test_percentile_defaults_to_now(store: EventStore) -> None:
    store.record_measurements([_point(4.0, utc_now() - timedelta(seconds=5))])
    assert store.percentile("latency_s", 0.5, window=timedelta(minutes=1)) == 4.0


def test_percentile_arguments(store: EventStore) -> None:
    with pytest.raises(ValueError, match="q must be one of"):
        store.percentile("latency_s", 0.9, window=timedelta(minutes=1))
    with pytest.raises(ValueError, match="window"):
        store.percentile("latency_s", 0.5, window=timedelta(0))


def _partitions(store_url: str) -> dict[str, int]:
    """Partition name -> row count, for every partition of observability.measurements."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            names = conn.scalars(
                sa.text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'observability.measurements'::regclass"
                )
            ).all()
            counts = conn.execute(
                sa.text(
                    "SELECT replace(tableoid::regclass::text, 'observability.', ''), count(*) "
                    "FROM observability.measurements GROUP BY 1"
                )
            ).all()
    finally:
        engine.dispose()
    return dict.fromkeys(names, 0) | {str(row[0]): int(row[1]) for row in counts}


def test_partitions_for_past_and_future_months(store: EventStore, store_url: str) -> None:
    """Points of a past and of a future month are stored and found; on PostgreSQL each lands
    in its own month's partition, created on demand, and nothing in the default one."""
    now = utc_now()
    past = datetime(2019, 7, 15, 8, 30, tzinfo=UTC)
    future = datetime(now.year + 2, 2, 28, 23, 59, 59, tzinfo=UTC)
    store.record_measurements([_point(1.0, past), _point(2.0, future), _point(3.0, now)])

    assert [p.value for p in store.query_measurements("latency_s").items] == [1.0, 3.0, 2.0]
    if store.backend != "postgresql":
        return
    partitions = _partitions(store_url)
    assert partitions["measurements_2019_07"] == 1
    assert partitions[f"measurements_{now.year + 2}_02"] == 1
    assert partitions[f"measurements_{now:%Y_%m}"] == 1
    assert partitions["measurements_default"] == 0
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert f"measurements_{next_month:%Y_%m}" in partitions  # created by the migration


@pytest.mark.postgres
def test_rows_in_the_default_partition_move_to_their_month(postgres_store_url: str) -> None:
    """A row inserted behind the store's back lands in the default partition; when the
    store later creates that month's partition, the row moves there."""
    engine = sa.create_engine(postgres_store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO observability.measurements "
                    "(id, name, value, kind, recorded_at, labels) VALUES "
                    "(gen_random_uuid(), 'latency_s', 7, 'gauge', "
                    "'2018-03-10T00:00:00Z', '{}')"
                )
            )
    finally:
        engine.dispose()
    assert _partitions(postgres_store_url)["measurements_default"] == 1

    with open_store(postgres_store_url) as store:
        store.record_measurements([_point(8.0, datetime(2018, 3, 20, tzinfo=UTC))])
        values = [p.value for p in store.query_measurements("latency_s").items]

    partitions = _partitions(postgres_store_url)
    assert partitions["measurements_default"] == 0
    assert partitions["measurements_2018_03"] == 2
    assert values == [7.0, 8.0]
