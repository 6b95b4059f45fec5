"""Pacing for locust users that adds up to Poisson arrivals (kept free of locust imports, so
that tests can use it without gevent's monkey-patching)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any


def poisson_throughput(rate: float) -> Callable[[Any], float]:
    """A ``wait_time`` starting tasks at exponential intervals averaging ``1 / rate`` seconds.

    Intervals are counted from the previous task's start, so the time a task takes does not lower
    the rate as long as it is shorter than the interval drawn. A user that fell behind starts at
    once and counts on from then rather than catching up in a burst, so tasks that take a large
    part of ``1 / rate`` lower the achieved rate somewhat (the reports show the achieved rate).
    """

    def wait_time(user: Any) -> float:
        now = time.monotonic()
        scheduled = getattr(user, "_next_start", now) + random.expovariate(rate)
        start = max(scheduled, now)  # behind schedule: start now, and count on from now
        user._next_start = start
        return start - now

    return wait_time
