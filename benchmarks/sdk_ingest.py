"""Agent SDK ingestion: sustained events/s into SQLite and PostgreSQL, and the cost of a call.

For each backend, ``--producers`` threads each record ``--events`` steps (one run per thread)
through an ``AgentRecorder`` with a ``StoreSink``; the clock runs from the first call to the
end of ``flush``. Backpressure is set to wait (``put_timeout`` 60 s) so that the figure is
the sustained rate, not the rate of accepting and dropping; drops are printed (expected: 0).

Two ceilings are printed next to it, so a miss can be attributed:
- ``store write_batch``: the same number of prebuilt models written with ``write_batch`` in
  batches of 1,000 from one thread, with no SDK at all (the sink's own limit);
- ``SDK, null sink``: the whole SDK path (calls, queue, validation in the writer thread)
  with a sink that stores nothing (the SDK's own limit).

Producer cost: ``log_step()`` and ``log()`` timed one call at a time with
``time.perf_counter_ns`` while the writer drains into SQLite, on a queue that is never full.

Targets (issue 3): >= 50,000 events/s into each backend; a producer call p50 <= 10 us.
``--tune-gc`` shows what Python's cyclic GC costs: the writer allocates ~6 tracked objects per
event (documents, models, their dicts), and with the default thresholds full collections run
every few batches.
The machine has 2 cores and is shared: the load average is printed first, and the CPU time
of this process is printed with each figure (wall time counts other processes' work too).

Usage: python benchmarks/sdk_ingest.py [--producers 4] [--events 50000] [--pg-url URL]
       [--skip-pg] [--calls 100000] [--tune-gc]
Without --pg-url a throwaway PostgreSQL server is started like the test suite's.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from vigil.models import (  # noqa: E402
    BatchEvent,
    BatchWriteResult,
    JsonObject,
    Run,
    RunCreate,
    RunFinish,
    StepEvent,
    StepType,
)
from vigil.sdk import AgentRecorder, EventSink, StoreSink  # noqa: E402
from vigil.storage import EventStore, open_store, upgrade  # noqa: E402

TARGET_EVENTS_PER_S = 50_000
TARGET_P50_US = 10.0


class NullSink(EventSink):
    """Stores nothing: measures the SDK without a database."""

    def write(
        self, events: Sequence[BatchEvent], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        return BatchWriteResult(steps=len(events))

    def create_run(self, run: RunCreate) -> Run:
        raise NotImplementedError

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        raise NotImplementedError


def step_data(i: int) -> JsonObject:
    return {"tool": "search", "args": {"query": "refund policy", "k": 5}, "i": i}


def sdk_throughput(sink: EventSink, run_ids: list[UUID], events: int) -> tuple[float, float, float]:
    """(events/s, CPU s, dropped) for len(run_ids) producer threads x ``events`` steps."""
    registry = CollectorRegistry()
    recorder = AgentRecorder(sink, service="bench", registry=registry, put_timeout=60.0)
    start = threading.Barrier(len(run_ids) + 1)

    def produce(run_id: UUID) -> None:
        start.wait()
        log_step = recorder.log_step
        for i in range(events):
            log_step(run_id, StepType.TOOL_CALL, "search", step_data(i))

    threads = [threading.Thread(target=produce, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if not recorder.flush(timeout=600.0):
        raise RuntimeError("flush timed out")
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    recorder.close()
    dropped = sum(
        registry.get_sample_value(
            "sdk_events_dropped_total", {"service": "bench", "reason": reason}
        )
        or 0.0
        for reason in ("queue_full", "invalid", "rejected", "sink_error", "closed")
    )
    return len(run_ids) * events / elapsed, cpu, dropped


def store_ceiling(store: EventStore, run_id: UUID, events: int) -> tuple[float, float, int]:
    """(events/s, CPU s, events) of write_batch alone, batches of 1,000 prebuilt models."""
    now = datetime.now(UTC)
    batch = [
        StepEvent(
            run_id=run_id,
            step_type=StepType.TOOL_CALL,
            name="search",
            data=step_data(i),
            created_at=now,
        )
        for i in range(1_000)
    ]
    batches = max(1, events // 1_000)
    cpu = time.process_time()
    began = time.perf_counter()
    for _ in range(batches):
        store.write_batch(batch)
    elapsed = time.perf_counter() - began
    return batches * 1_000 / elapsed, time.process_time() - cpu, batches * 1_000


def call_latency(store: EventStore, run_id: UUID, calls: int) -> dict[str, list[int]]:
    """Nanoseconds per call of log_step and log, the queue never full."""
    recorder = AgentRecorder(StoreSink(store), service="bench", registry=CollectorRegistry())
    clock = time.perf_counter_ns
    samples: dict[str, list[int]] = {"log_step": [], "log": []}
    calls_of: dict[str, Callable[[int], object]] = {
        "log_step": lambda i: recorder.log_step(run_id, StepType.TOOL_CALL, "search", step_data(i)),
        "log": lambda i: recorder.log("info", "searching", run_id=run_id, attributes={"i": i}),
    }
    for name, call in calls_of.items():
        out = samples[name]
        for i in range(calls):
            began = clock()
            call(i)
            out.append(clock() - began)
            if i % 10_000 == 9_999:
                recorder.flush(timeout=600.0)  # keep the queue far from full
    recorder.close()
    return samples


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    from tests.pg_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield server.create_database("sdk_bench")
    finally:
        server.stop()


def bench_backend(name: str, url: str, producers: int, events: int) -> float:
    upgrade(url)
    with open_store(url) as store:
        runs = [
            store.create_run(RunCreate(name=f"bench-{n}", agent="bench", project_id="bench"))
            for n in range(producers)
        ]
        ceiling, ceiling_cpu, written = store_ceiling(store, runs[0].id, producers * events // 4)
        rate, cpu, dropped = sdk_throughput(StoreSink(store), [r.id for r in runs], events)
        stored = sum(store.get_run(r.id).step_count for r in runs) - written
    total = producers * events
    print(
        f"{name:<10} store write_batch alone : {ceiling:9,.0f} events/s "
        f"(CPU {ceiling_cpu / written * 1e6:5.1f} us/event)"
    )
    print(
        f"{name:<10} SDK -> StoreSink        : {rate:9,.0f} events/s "
        f"(CPU {cpu / total * 1e6:5.1f} us/event; {producers} x {events:,} steps, "
        f"dropped {dropped:.0f}, ratio to target {rate / TARGET_EVENTS_PER_S:.2f})",
        flush=True,
    )
    if stored != total:
        print(f"{name:<10} WARNING: {stored:,} of {total:,} steps stored")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--events", type=int, default=50_000, help="steps per producer")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--calls", type=int, default=100_000, help="calls timed for latency")
    parser.add_argument(
        "--tune-gc",
        action="store_true",
        help="gc.freeze() the start-up objects and raise the generation-0 threshold to 50,000",
    )
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    if args.tune_gc:
        # What a high-rate service can choose to do; the SDK itself never touches the GC.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
    print(f"gc thresholds {gc.get_threshold()}, frozen objects {gc.get_freeze_count():,}\n")
    from vigil.models import new_id

    rate, cpu, _ = sdk_throughput(
        NullSink(), [new_id() for _ in range(args.producers)], args.events
    )
    total = args.producers * args.events
    print(
        f"{'none':<10} SDK -> null sink        : {rate:9,.0f} events/s "
        f"(CPU {cpu / total * 1e6:5.1f} us/event)",
        flush=True,
    )

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-sdk-bench-") as tmp:
        sqlite_url = f"sqlite:///{tmp}/vigil.db"
        results["sqlite"] = bench_backend("sqlite", sqlite_url, args.producers, args.events)
        if not args.skip_pg:
            with postgres(args.pg_url) as pg_url:
                results["postgresql"] = bench_backend(
                    "postgresql", pg_url, args.producers, args.events
                )

        upgrade(sqlite_url)
        with open_store(sqlite_url) as store:
            run = store.create_run(RunCreate(name="latency", agent="bench", project_id="bench"))
            samples = call_latency(store, run.id, args.calls)

    print()
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
        print(
            f"{name + '()':<11} per call: p50 {p50:5.2f} us, p99 {p99:6.2f} us, "
            f"mean {statistics.fmean(values) / 1_000:5.2f} us "
            f"(target p50 <= {TARGET_P50_US:.0f} us, ratio {p50 / TARGET_P50_US:.2f})"
        )
    print()
    for name, rate in results.items():
        verdict = "met" if rate >= TARGET_EVENTS_PER_S else "MISSED"
        print(f"target {TARGET_EVENTS_PER_S:,} events/s into {name}: {verdict} ({rate:,.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
