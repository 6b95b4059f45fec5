"""The bulk path's own timestamp text: the same text as ``datetime`` would give."""

import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil.models._spans import span_time
from vigil.storage._rows import (
    EPOCH_CACHE_SECONDS,
    datetime_formatter,
    epoch_formatter,
    nanos_formatter,
)


def expected(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(" ", "microseconds")


@pytest.mark.parametrize(
    "seconds",
    [
        0.0,
        1_700_000_000.0,
        1_700_000_000.9999996,  # rounds up into the next second
        1_700_000_000.0000005,  # a tie: half to even, as datetime rounds
        -1.25,  # before the epoch
        -30_000_000_000.5,  # the year 1019: four digits, zero-padded
        253_402_300_799.5,  # 9999-12-31 23:59:59.5
    ],
)
def test_an_edge_is_written_as_datetime_writes_it(seconds: float) -> None:
    assert epoch_formatter("+00:00")(seconds) == expected(seconds)


def test_random_times_match_datetime_across_cache_resets() -> None:
    text = epoch_formatter("+00:00")
    rng = random.Random(20261201)  # noqa: S311  (test data, not secrets)
    now = time.time()
    samples = [now + rng.uniform(-1e6, 1e6) for _ in range(3 * EPOCH_CACHE_SECONDS)]
    samples += [rng.uniform(0, 4e9) for _ in range(20_000)]
    samples += [round(s, 6) + 5e-7 for s in samples[:5_000]]  # near ties
    assert [text(s) for s in samples] == [expected(s) for s in samples]


def test_the_suffix_is_the_backends_own() -> None:
    """SQLite's text has no offset (SQLAlchemy's DATETIME form), PostgreSQL's has one."""
    assert epoch_formatter("")(1.5) == "1970-01-01 00:00:01.500000"
    assert epoch_formatter("+00:00")(1.5) == "1970-01-01 00:00:01.500000+00:00"


def test_datetimes_are_written_as_isoformat_writes_them() -> None:
    """Aware values of any offset, across the cache's resets and the years' range."""
    text = datetime_formatter("+00:00")
    rng = random.Random(1)  # noqa: S311  (test data, not secrets)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    now = datetime.now(UTC)
    values = [
        now + timedelta(seconds=rng.uniform(-1e6, 1e6)) for _ in range(3 * EPOCH_CACHE_SECONDS)
    ]
    values += [datetime.fromtimestamp(rng.uniform(-6e10, 2.5e11), UTC) for _ in range(5_000)]
    values = [value.astimezone(rng.choice(zones)) for value in values]
    values += [datetime(1, 1, 1, 12, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)]
    assert [text(v) for v in values] == [
        v.astimezone(UTC).isoformat(" ", "microseconds") for v in values
    ]
    assert datetime_formatter("")(values[0]) == text(values[0]).removesuffix("+00:00")


def test_span_nanoseconds_are_written_as_span_time_gives_them() -> None:
    """OpenTelemetry's nanoseconds: the microsecond they fall in, the text of the ``datetime``
    the conflict path stores (``span_time``), across cache resets, second edges, the epoch."""
    text = nanos_formatter("+00:00")
    rng = random.Random(3)  # noqa: S311  (test data, not secrets)
    now = time.time_ns()
    values = [now + rng.randint(-(10**15), 10**15) for _ in range(3 * EPOCH_CACHE_SECONDS)]
    values += [rng.randint(0, 4 * 10**18) for _ in range(5_000)]
    values += [now // 10**9 * 10**9 + edge for edge in (0, 999, 1_000, 999_999_999)]
    values += [0, -1, -1_000, -1_000_000_001]  # before the epoch: still the floor
    assert [text(v) for v in values] == [
        span_time(v).isoformat(" ", "microseconds") for v in values
    ]
    assert nanos_formatter("")(1_500_000_999) == "1970-01-01 00:00:01.500000"
