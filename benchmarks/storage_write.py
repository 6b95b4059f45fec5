#!/usr/bin/env python3
"""Throughput of ``EventStore.write_batch`` into each backend.

Batches of 1,000 mixed events (30% steps over 3 runs, 40% logs, 30% measurements), written
back to back from one thread for a few seconds per backend; prints events/s and batch
latency. The events are built before timing starts: this measures the store, not pydantic.
They carry no timestamps, so the store stamps them at write time: time-keyed indexes grow at
their right edge, as with live traffic (replaying fixed timestamps would insert all over them).

    .venv/bin/python benchmarks/storage_write.py                 # SQLite + a throwaway PostgreSQL
    .venv/bin/python benchmarks/storage_write.py --seconds 10
    .venv/bin/python benchmarks/storage_write.py --postgres-url postgresql+psycopg://u@h/db
    .venv/bin/python benchmarks/storage_write.py --backends sqlite

Without --postgres-url it starts a PostgreSQL server from the local binaries with the test
suite's helper (tests/pg_server.py: fsync off, so it measures the store, not the disk).
"""

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server

from vigil.models import (  # noqa: E402
    BatchEvent,
    LogCreate,
    LogLevel,
    MeasurementCreate,
    MeasurementKind,
    RunCreate,
    StepEvent,
    StepType,
)
from vigil.storage import EventStore, open_store, upgrade  # noqa: E402

BATCH_SIZE = 1_000
DISTINCT_BATCHES = 20


def build_batches(store: EventStore) -> list[list[BatchEvent]]:
    runs = [
        store.create_run(RunCreate(name=f"bench-{n}", agent="bench", project_id="bench")).id
        for n in range(3)
    ]
    levels = list(LogLevel)
    step_types = list(StepType)
    batches: list[list[BatchEvent]] = []
    for b in range(DISTINCT_BATCHES):
        batch: list[BatchEvent] = []
        for n in range(BATCH_SIZE):
            kind = n % 10
            if kind < 3:
                batch.append(
                    StepEvent(
                        run_id=runs[n % 3],
                        step_type=step_types[n % len(step_types)],
                        name="search",
                        data={"tool": "search", "args": {"q": f"query {n}"}, "tokens": n},
                        request_id=f"req-{b}-{n // 50}",
                    )
                )
            elif kind < 7:
                batch.append(
                    LogCreate(
                        level=levels[n % len(levels)],
                        logger="vigil.agent",
                        message=f"tool call {n} finished",
                        service="agent",
                        request_id=f"req-{b}-{n // 50}",
                        run_id=runs[n % 3],
                        attributes={"duration_ms": n % 97, "ok": True},
                    )
                )
            else:
                batch.append(
                    MeasurementCreate(
                        name="tool_duration_seconds",
                        value=(n % 97) / 100,
                        kind=MeasurementKind.HISTOGRAM,
                        labels={"tool": "search", "model": "m1"},
                        run_id=runs[n % 3],
                    )
                )
        batches.append(batch)
    return batches


def measure(name: str, url: str, seconds: float) -> float:
    upgrade(url)
    with open_store(url) as store:
        batches = build_batches(store)
        store.write_batch(batches[0])  # warm up: connections, compiled statements
        latencies: list[float] = []
        events = 0
        started = time.perf_counter()
        for batch in itertools.cycle(batches):
            t0 = time.perf_counter()
            events += store.write_batch(batch).total
            latencies.append(time.perf_counter() - t0)
            if time.perf_counter() - started >= seconds:
                break
        elapsed = time.perf_counter() - started
    rate = events / elapsed
    latencies.sort()
    print(
        f"{name:<11} {rate:>10,.0f} events/s   {len(latencies):>4} batches of {BATCH_SIZE} in "
        f"{elapsed:.1f} s   batch p50 {statistics.median(latencies) * 1000:.1f} ms   "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )
    return rate


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    from tests.pg_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield server.create_database("vigil_bench")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per backend")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="an empty database (default: start one)")
    args = parser.parse_args()
    backends = args.backends.split(",")
    print(f"write_batch, batches of {BATCH_SIZE} mixed events, {args.seconds:g} s per backend")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
            measure("sqlite", f"sqlite:///{tmp}/vigil.db", args.seconds)
    if "postgresql" in backends:
        if args.postgres_url:
            measure("postgresql", args.postgres_url, args.seconds)
        else:
            with throwaway_postgres() as url:
                measure("postgresql", url, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
