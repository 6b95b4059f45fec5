"""The locust users' pacing (load-tests/pacing.py) gives Poisson arrivals at the asked rate."""

from __future__ import annotations

import itertools
import random
import statistics
from types import SimpleNamespace

import pytest

from tests.load_tests.scripts import load

pacing = load("pacing")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(pacing.time, "monotonic", fake.monotonic)
    random.seed(7)
    return fake


def run_user(clock: FakeClock, rate: float, tasks: int, task_s: float = 0.0) -> list[float]:
    """Start times of ``tasks`` tasks of one user whose tasks take ``task_s`` each."""
    wait_time = pacing.poisson_throughput(rate)
    user = SimpleNamespace()
    starts = []
    for _ in range(tasks):
        clock.now += wait_time(user)
        starts.append(clock.now)
        clock.now += task_s
    return starts


def test_intervals_are_exponential_with_the_asked_mean(clock: FakeClock) -> None:
    starts = run_user(clock, rate=2.0, tasks=20_000)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert statistics.fmean(gaps) == pytest.approx(0.5, rel=0.03)
    # Exponential: the standard deviation equals the mean (a fixed period would give 0).
    assert statistics.stdev(gaps) == pytest.approx(0.5, rel=0.05)


def test_task_time_does_not_lower_the_rate(clock: FakeClock) -> None:
    # 100 ms tasks every 500 ms on average: a pacing that drew each interval after the task ended
    # would give 1/(0.5 + 0.1) = 1.67/s; counted from the starts, only the intervals shorter than
    # a task are stretched, which costs about 2% here (mean interval 0.1 + 0.5 e^-0.2 = 0.509 s).
    starts = run_user(clock, rate=2.0, tasks=20_000, task_s=0.1)
    assert (len(starts) - 1) / (starts[-1] - starts[0]) == pytest.approx(2.0, rel=0.03)


def test_a_user_that_fell_behind_does_not_burst(clock: FakeClock) -> None:
    wait_time = pacing.poisson_throughput(2.0)
    user = SimpleNamespace()
    clock.now += wait_time(user)
    clock.now += 60.0  # one task took a minute: 120 starts were missed
    resumed = clock.now
    starts = []
    for _ in range(50):
        clock.now += wait_time(user)
        starts.append(clock.now)
    # One start at once, then about 2 a second: no catch-up burst of the 120 missed starts.
    assert starts[0] == resumed
    assert sum(1 for t in starts if t < resumed + 1.0) <= 8
