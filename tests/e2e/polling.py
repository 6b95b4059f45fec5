"""Bounded waiting: every wait of the end-to-end tests has a deadline and says what it awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest

T = TypeVar("T")


def wait_for(
    what: str,
    attempt: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
) -> T:
    """Call ``attempt`` until it returns something other than None (or False); fail after
    ``timeout_s`` with ``what`` and the last result or error (the e2e conftest adds the
    native stack's logs to the failure report)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        try:
            result = attempt()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            last, result = exc, None
        else:
            last = result
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(
                f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})",
                pytrace=False,
            )
        time.sleep(interval_s)
