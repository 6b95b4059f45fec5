"""The bulk path's own timestamp text: the same text as ``datetime`` would give."""

import random
import time
from datetime import UTC, datetime

import pytest

from vigil.storage._rows import EPOCH_CACHE_SECONDS, epoch_formatter


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
