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

``--spool both`` runs every measurement four times back to back, without, with, with and
without a spool configured (``AgentRecorder(spool=...)``, a fresh file in the temp dir), and
prints the mean of each: the spool is only written while the sink fails, so the two should
match within the machine's noise; the spool's file size is printed to show it stayed empty.

``--compare-batch-size 1000`` runs every store measurement with the sink's own batch size
(``StoreSink(store).batch_size``: 5,000 on PostgreSQL, 1,000 on SQLite) and with 1,000 (the
size of every sink before), alternated.

Usage: python benchmarks/sdk_ingest.py [--producers 4] [--events 50000] [--pg-url URL]
       [--skip-pg] [--calls 100000] [--tune-gc] [--spool off|on|both] [--compare-batch-size N]
Without --pg-url a throwaway PostgreSQL server is started like the test suite's.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from vigil.models import (  # noqa: E402
    BatchItem,
    BatchWriteResult,
    JsonObject,
    Run,
    RunCreate,
    RunFinish,
    StepEvent,
    StepType,
)
from vigil.sdk import AgentRecorder, DropReason, EventSink, StoreSink  # noqa: E402
from vigil.storage import EventStore, open_store, upgrade  # noqa: E402

TARGET_EVENTS_PER_S = 50_000
TARGET_P50_US = 10.0
# "both" runs without, with, with, without: a table that grows during the runs slows the later
# ones (PostgreSQL's indexes, measured up to ~6% here), and the ABBA order cancels that drift.
SPOOL_MODES = {"off": (False,), "on": (True,), "both": (False, True, True, False)}
_spool_numbers = itertools.count(1)


class NullSink(EventSink):
    """Stores nothing: measures the SDK without a database (taking records, as StoreSink)."""

    takes_records = True

    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        return BatchWriteResult(steps=len(events))

    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        raise NotImplementedError

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        raise NotImplementedError


def step_data(i: int) -> JsonObject:
    return {"tool": "search", "args": {"query": "refund policy", "k": 5}, "i": i}


def sdk_throughput(
    sink: EventSink,
    run_ids: list[UUID],
    events: int,
    spool: Path | None = None,
    batch_size: int | None = None,
) -> tuple[float, float, float]:
    """(events/s, CPU s, dropped) for len(run_ids) producer threads x ``events`` steps, in
    batches of ``batch_size`` (None: the sink's own, ``EventSink.batch_size``)."""
    registry = CollectorRegistry()
    recorder = AgentRecorder(
        sink,
        service="bench",
        registry=registry,
        put_timeout=60.0,
        spool=spool,
        batch_size=batch_size,
    )

    def produce(run_id: UUID) -> None:
        log_step = recorder.log_step
        for i in range(events):
            log_step(run_id, StepType.TOOL_CALL, "search", step_data(i))

    elapsed, cpu = run_producers(recorder, run_ids, produce)
    dropped = sum(
        registry.get_sample_value(
            "sdk_events_dropped_total", {"service": "bench", "reason": reason.value}
        )
        or 0.0
        for reason in DropReason
    )
    return len(run_ids) * events / elapsed, cpu, dropped


def run_producers(
    recorder: AgentRecorder, run_ids: list[UUID], produce: Callable[[UUID], None]
) -> tuple[float, float]:
    """(wall s, CPU s) of one thread per run calling ``produce(run_id)``, all released at
    once, until ``recorder`` has flushed everything; the recorder is closed after."""
    start = threading.Barrier(len(run_ids) + 1)

    def released(run_id: UUID) -> None:
        start.wait()
        produce(run_id)

    threads = [threading.Thread(target=released, args=(run_id,)) for run_id in run_ids]
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
    return elapsed, cpu


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


def call_latency(
    store: EventStore, run_id: UUID, calls: int, spool: Path | None = None
) -> dict[str, list[int]]:
    """Nanoseconds per call of log_step and log, the queue never full."""
    recorder = AgentRecorder(
        StoreSink(store), service="bench", registry=CollectorRegistry(), spool=spool
    )
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


def spool_files(tmp: str, mode: str) -> Iterator[Path | None]:
    """What each measurement runs with, in order: no spool, a fresh spool file, or both."""
    for spooled in SPOOL_MODES[mode]:
        yield Path(tmp, f"agent-{next(_spool_numbers)}.spool") if spooled else None


def label(what: str, spool: Path | None, batch_size: int | None = None) -> str:
    batches = "" if batch_size is None else f", batch {batch_size:,}"
    return f"{what}{', spool' if spool is not None else ''}{batches}"


def spool_note(spool: Path | None) -> str:
    return "" if spool is None else f"; spool file {spool.stat().st_size:,} bytes"


Rates = dict[str, list[tuple[float, float]]]
"""(events/s, CPU us per event) of each run, by what ran."""


def bench_backend(
    name: str,
    url: str,
    producers: int,
    events: int,
    spools: Iterable[Path | None],
    compare_batch: int | None = None,
) -> Rates:
    """``compare_batch``: each measurement also runs with batches of that size, in the order
    sink's own, that size, that size, sink's own (the drift of a growing table cancels)."""
    upgrade(url)
    rates: Rates = {}
    with open_store(url) as store:
        runs = [
            store.create_run(RunCreate(name=f"bench-{n}", agent="bench", project_id="bench"))
            for n in range(producers)
        ]
        ceiling, ceiling_cpu, written = store_ceiling(store, runs[0].id, producers * events // 4)
        print(
            f"{name:<10} store write_batch alone : {ceiling:9,.0f} events/s "
            f"(CPU {ceiling_cpu / written * 1e6:5.1f} us/event)"
        )
        total = producers * events
        sizes: tuple[int | None, ...] = (
            (None,) if compare_batch is None else (None, compare_batch, compare_batch, None)
        )
        sink = StoreSink(store)
        for spool, batch_size in itertools.product(spools, sizes):
            before = sum(store.get_run(r.id).step_count for r in runs)
            rate, cpu, dropped = sdk_throughput(
                sink, [r.id for r in runs], events, spool, batch_size
            )
            stored = sum(store.get_run(r.id).step_count for r in runs) - before
            what = label("SDK -> StoreSink", spool, batch_size)
            rates.setdefault(label(name, spool, batch_size), []).append((rate, cpu / total * 1e6))
            print(
                f"{name:<10} {what:<23} : {rate:9,.0f} events/s "
                f"(CPU {cpu / total * 1e6:5.1f} us/event; {producers} x {events:,} steps "
                f"in batches of {batch_size or sink.batch_size:,}, "
                f"dropped {dropped:.0f}, ratio to target {rate / TARGET_EVENTS_PER_S:.2f}"
                f"{spool_note(spool)})",
                flush=True,
            )
            if stored != total:
                print(f"{name:<10} WARNING: {stored:,} of {total:,} steps stored")
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--events", type=int, default=50_000, help="steps per producer")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument(
        "--compare-batch-size",
        type=int,
        metavar="N",
        help="also measure the store sinks with batches of N, alternated with the sink's own "
        "(5,000 on PostgreSQL, 1,000 on SQLite); 1000 was the batch size of every sink before",
    )
    parser.add_argument("--calls", type=int, default=100_000, help="calls timed for latency")
    parser.add_argument(
        "--tune-gc",
        action="store_true",
        help="gc.freeze() the start-up objects and raise the generation-0 threshold to 50,000",
    )
    parser.add_argument(
        "--spool",
        choices=sorted(SPOOL_MODES),
        default="off",
        help="measure without a spool (default), with one configured, or both back to back",
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

    results: Rates = {}
    samples: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-sdk-bench-") as tmp:
        total = args.producers * args.events
        for spool in spool_files(tmp, args.spool):
            rate, cpu, _ = sdk_throughput(
                NullSink(), [new_id() for _ in range(args.producers)], args.events, spool
            )
            what = label("SDK -> null sink", spool)
            results.setdefault(label("null sink", spool), []).append((rate, cpu / total * 1e6))
            print(
                f"{'none':<10} {what:<23} : {rate:9,.0f} events/s "
                f"(CPU {cpu / total * 1e6:5.1f} us/event{spool_note(spool)})",
                flush=True,
            )

        sqlite_url = f"sqlite:///{tmp}/vigil.db"
        compare = args.compare_batch_size
        results |= bench_backend(
            "sqlite", sqlite_url, args.producers, args.events, spool_files(tmp, args.spool),
            compare,
        )  # fmt: skip
        if not args.skip_pg:
            with postgres(args.pg_url) as pg_url:
                results |= bench_backend(
                    "postgresql", pg_url, args.producers, args.events,
                    spool_files(tmp, args.spool), compare,
                )  # fmt: skip

        upgrade(sqlite_url)
        with open_store(sqlite_url) as store:
            run = store.create_run(RunCreate(name="latency", agent="bench", project_id="bench"))
            for spool in spool_files(tmp, args.spool):
                for name, values in call_latency(store, run.id, args.calls, spool).items():
                    samples.setdefault(label(name + "()", spool), []).extend(values)

    print()
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
        print(
            f"{name:<18} per call: p50 {p50:5.2f} us, p99 {p99:6.2f} us, "
            f"mean {statistics.fmean(values) / 1_000:5.2f} us "
            f"(target p50 <= {TARGET_P50_US:.0f} us, ratio {p50 / TARGET_P50_US:.2f})"
        )
    print()
    for name, runs in results.items():
        rate = statistics.fmean(r for r, _ in runs)
        cpu = statistics.fmean(c for _, c in runs)
        print(f"{name:<19}: {rate:9,.0f} events/s, CPU {cpu:5.1f} us/event (mean of {len(runs)})")
    print()
    for name, runs in results.items():
        if name.startswith("null sink"):
            continue
        rate = statistics.fmean(r for r, _ in runs)
        verdict = "met" if rate >= TARGET_EVENTS_PER_S else "MISSED"
        print(f"target {TARGET_EVENTS_PER_S:,} events/s into {name}: {verdict} ({rate:,.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
