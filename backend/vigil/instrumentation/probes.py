"""Health probes: liveness (the process), readiness (dependencies), start-up (work done).

- ``/health/live``: 200 while the event loop answers; checks nothing else, so a slow database
  never gets the process restarted.
- ``/health/ready``: runs every readiness check concurrently, each under its own timeout; 503 with
  per-check details when one fails.
- ``/health/startup``: 503 until the app's lifespan start-up has finished and every start-up task
  registered with :meth:`HealthProbes.add_startup_task` has been marked done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.redaction import redact_text

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
STARTUP_PATH = "/health/startup"
PROBE_PATHS = frozenset({LIVE_PATH, READY_PATH, STARTUP_PATH})

ReadinessCheck = Callable[[], Awaitable[None]] | Callable[[], None]


@dataclass(frozen=True, slots=True)
class _Check:
    name: str
    check: ReadinessCheck
    timeout_s: float


class HealthProbes:
    """The probe state of one app: readiness checks and pending start-up work."""

    def __init__(self) -> None:
        self._checks: list[_Check] = []
        self._pending_startup: set[str] = set()
        self._lifespan_started = False

    def add_readiness_check(self, name: str, check: ReadinessCheck, timeout_s: float = 2.0) -> None:
        """Register a dependency check: it passes by returning, fails by raising or timing out.

        A plain function runs in the thread pool, so a blocking driver call cannot stall the loop.
        """
        self._checks.append(_Check(name, check, timeout_s))

    def add_startup_task(self, name: str) -> None:
        """Hold ``/health/startup`` at 503 until :meth:`startup_task_done` marks ``name`` done."""
        self._pending_startup.add(name)

    def startup_task_done(self, name: str) -> None:
        """Mark a start-up task finished."""
        self._pending_startup.discard(name)

    def lifespan_started(self) -> None:
        """Mark the app's lifespan start-up complete (the instrumentation does it on its own)."""
        self._lifespan_started = True

    @property
    def started(self) -> bool:
        """Whether start-up work is done."""
        return self._lifespan_started and not self._pending_startup

    async def live(self, request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def startup(self, request: Request) -> Response:
        if self.started:
            return JSONResponse({"status": "started"})
        pending = sorted(self._pending_startup)
        if not self._lifespan_started:
            pending.insert(0, "lifespan")
        return JSONResponse({"status": "starting", "pending": pending}, status_code=503)

    async def ready(self, request: Request) -> Response:
        results = await asyncio.gather(*(_run_check(c) for c in self._checks))
        checks = dict(results)
        ok = self.started and all(r["status"] == "ok" for r in checks.values())
        body = {"status": "ready" if ok else "not_ready", "started": self.started, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    def install(self, app: Starlette) -> None:
        """Add the three probe routes to ``app``, outside its OpenAPI schema."""
        app.add_route(LIVE_PATH, self.live, methods=["GET"], include_in_schema=False)
        app.add_route(READY_PATH, self.ready, methods=["GET"], include_in_schema=False)
        app.add_route(STARTUP_PATH, self.startup, methods=["GET"], include_in_schema=False)


async def _run_check(check: _Check) -> tuple[str, dict[str, object]]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout_s):
            if asyncio.iscoroutinefunction(check.check):
                await check.check()
            else:
                await run_in_threadpool(check.check)
    except TimeoutError:
        result: dict[str, object] = {
            "status": "fail",
            "error": f"timed out after {check.timeout_s}s",
        }
    except Exception as exc:  # a failing dependency is a result, not an error of the probe
        message = redact_text(str(exc))[:300]
        result = {"status": "fail", "error": f"{type(exc).__name__}: {message}"}
    else:
        result = {"status": "ok"}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return check.name, result
