"""``HealthChecker``: liveness, readiness and start-up for a program that is not a web
service, with the meanings the instrumentation's HTTP probes have (``vigil.instrument``).

- ``liveness()``: the process answers; checks nothing else, so a slow database never gets
  a worker restarted.
- ``readiness()``: the store answers ``SELECT 1`` and every registered check passes (a check
  passes by returning anything but False, fails by returning False or raising); details per
  check, each timed.
- ``startup()``: unhealthy until the start-up check passes once (default: the store answers;
  built from a URL, its migrations ran in the constructor), then healthy for good
  (``startup_complete``): pass ``startup_check`` for "the initial data is loaded".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.models import utc_now
from vigil.observability._store import StoreUser
from vigil.redaction import redact_text
from vigil.storage import EventStore

HealthCheck = Callable[[], object]
"""Passes by returning (anything but False), fails by returning False or raising."""


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """The answer of one probe."""

    healthy: bool
    message: str
    checked_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


class HealthChecker(StoreUser):
    """Probes of one program; ``store`` is a URL (migrated here) or an open ``EventStore``."""

    def __init__(
        self,
        store: str | EventStore,
        *,
        checks: Mapping[str, HealthCheck] | None = None,
        startup_check: HealthCheck | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(store)
        self.checks: dict[str, HealthCheck] = dict(checks or {})
        self.timeout_s = timeout_s
        self._startup_check = startup_check
        self._started = False

    @property
    def startup_complete(self) -> bool:
        """Whether ``startup`` has passed once."""
        return self._started

    def add_check(self, name: str, check: HealthCheck) -> None:
        """Register a readiness check (a dependency: a queue, an API the program calls)."""
        self.checks[name] = check

    def liveness(self) -> HealthStatus:
        return HealthStatus(True, "alive", utc_now())

    def readiness(self) -> HealthStatus:
        details = {"store": _run(lambda: self.store.health_check(self.timeout_s))}
        for name, check in self.checks.items():
            details[name] = _run(check)
        failed = sorted(name for name, result in details.items() if result["status"] != "ok")
        message = "ready" if not failed else f"not ready: {', '.join(failed)}"
        return HealthStatus(not failed, message, utc_now(), details)

    def startup(self) -> HealthStatus:
        if self._started:
            return HealthStatus(True, "started", utc_now())
        result = _run(self._startup_check or (lambda: self.store.health_check(self.timeout_s)))
        if result["status"] == "ok":
            self._started = True
            return HealthStatus(True, "started", utc_now(), {"startup": result})
        return HealthStatus(False, "starting", utc_now(), {"startup": result})


def _run(check: HealthCheck) -> dict[str, object]:
    started = time.perf_counter()
    try:
        outcome = check()
    except Exception as exc:  # a failing dependency is a result, not an error of the probe
        result: dict[str, object] = {
            "status": "fail",
            "error": f"{type(exc).__name__}: {redact_text(str(exc))[:300]}",
        }
    else:
        result = {"status": "fail" if outcome is False else "ok"}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result
