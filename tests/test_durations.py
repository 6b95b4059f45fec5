"""Prometheus duration strings, shared by the stack renderer and the test-rule renderer."""

import pytest

from vigil.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("10s", 10_000),
        ("1m30s", 90_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
        ("250ms", 250),
        ("1d", 86_400_000),
        ("2w", 1_209_600_000),
    ],
)
def test_valid_durations(text: str, ms: int) -> None:
    """Units combine in Go's order, each at most once."""
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "5", "m5", "1s1m", "1.5m", "-1s", "5 m"])
def test_invalid_durations(text: str) -> None:
    """Anything Prometheus would refuse is a ValueError."""
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration(text)
