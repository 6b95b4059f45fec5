"""query_logs: filters by request, run, minimum level and time, with keyset pages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigil.models import LogCreate, LogLevel, LogRecord
from vigil.storage import EventStore

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
RUN = uuid.UUID("01900000-0000-7000-8000-000000000001")


@pytest.fixture
def logged(store: EventStore) -> EventStore:
    """Twelve records: request r1 then r2, levels cycling, one second apart."""
    levels = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]
    store.write_batch(
        [
            LogCreate(
                timestamp=T0 + timedelta(seconds=n),
                level=levels[n % 4],
                logger="vigil.access",
                message=f"m{n}",
                service="controller",
                request_id="r1" if n < 6 else "r2",
                run_id=RUN if n % 2 == 0 else None,
                attributes={"n": n},
            )
            for n in range(12)
        ]
    )
    return store


def _messages(records: list[LogRecord]) -> list[str]:
    return [record.message for record in records]


def test_filter_by_request_id(logged: EventStore) -> None:
    assert _messages(logged.query_logs(request_id="r2").items) == [f"m{n}" for n in range(6, 12)]
    assert logged.query_logs(request_id="nope").items == []


def test_filter_by_run_id(logged: EventStore) -> None:
    assert _messages(logged.query_logs(run_id=RUN).items) == [f"m{n}" for n in range(0, 12, 2)]


def test_level_is_a_minimum(logged: EventStore) -> None:
    """level=warning returns warnings and errors; debug returns everything."""
    assert _messages(logged.query_logs(level=LogLevel.WARNING).items) == [
        "m2", "m3", "m6", "m7", "m10", "m11",
    ]  # fmt: skip
    assert len(logged.query_logs(level=LogLevel.DEBUG).items) == 12
    assert logged.query_logs(level=LogLevel.CRITICAL).items == []


def test_time_window_is_half_open(logged: EventStore) -> None:
    window = logged.query_logs(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=5))
    assert _messages(window.items) == ["m3", "m4"]


def test_filters_combine(logged: EventStore) -> None:
    """Every filter narrows: r1 is m0..m5, the run has the even ones, and of m2 and m4
    (after second 1) only m2 is a warning; m4 is debug."""
    page = logged.query_logs(
        request_id="r1", run_id=RUN, level=LogLevel.INFO, since=T0 + timedelta(seconds=1)
    )
    assert _messages(page.items) == ["m2"]


def test_pages_follow_time_then_id(logged: EventStore) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = logged.query_logs(limit=5, cursor=cursor)
        seen += _messages(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"m{n}" for n in range(12)]


def test_records_round_trip(logged: EventStore) -> None:
    (record,) = logged.query_logs(request_id="r1", limit=1).items
    assert record.timestamp == T0
    assert record.level is LogLevel.DEBUG
    assert record.attributes == {"n": 0}
    assert record.run_id == RUN
    assert record.id.version == 7


def test_same_timestamp_pages_by_id(store: EventStore) -> None:
    """Records sharing a timestamp are neither lost nor repeated across pages."""
    store.write_batch(
        [
            LogCreate(timestamp=T0, level=LogLevel.INFO, logger="l", message=f"{n}", service="s")
            for n in range(7)
        ]
    )
    first = store.query_logs(limit=4)
    second = store.query_logs(limit=4, cursor=first.next_cursor)
    assert _messages(first.items + second.items) == [f"{n}" for n in range(7)]
    assert second.next_cursor is None
