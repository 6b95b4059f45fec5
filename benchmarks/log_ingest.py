"""Execution logs through the agent SDK: log records as ``LogEntry``s against models.

The controller stores every request's access record as an execution log
(``VIGIL_PERSIST_LOGS=all``), and agents store theirs inside runs: what a log record costs
between ``AgentRecorder.log`` and the database is instrumentation overhead. The writer hands
the store ``LogEntry`` tuples (its own checks standing for ``LogCreate``'s) to sinks that
take records; the baseline is the same code with a sink that does not (the models' path,
what every log took before), measured in the same run, alternated:

1. ``build``: the writer's ``build_batch`` of 1,000 access-like records, microseconds a
   record;
2. ``write``: ``write_batch`` of those 1,000 into SQLite and PostgreSQL, microseconds a record;
3. ``SDK -> StoreSink``: ``--producers`` threads each logging ``--records`` records (one
   run each) into each backend; records/s and this process' CPU time per record.

Usage: python benchmarks/log_ingest.py [--producers 4] [--records 20000] [--rounds 3]
       [--pg-url URL] [--skip-pg]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from benchmarks.sdk_ingest import run_producers  # noqa: E402
from vigil.models import BatchItem, LogLevel, RunCreate  # noqa: E402
from vigil.sdk import AgentRecorder, StoreSink  # noqa: E402
from vigil.sdk._events import LOG, QueuedEvent, build_batch  # noqa: E402
from vigil.storage import EventStore, open_store, upgrade  # noqa: E402

FORMS = ("models", "entries")


class ModelStoreSink(StoreSink):
    """The store's sink as it was before ``LogEntry``: it gets every log as a model."""

    takes_records = False


def access_attributes(i: int) -> dict[str, Any]:
    """The fields of the controller's access record (``vigil.instrumentation.access_log``)."""
    return {
        "method": "GET", "path": f"/runs/{i}", "route": "/runs/{run_id}", "status": 200,
        "duration_ms": 1.234, "client": "127.0.0.1:51234",
    }  # fmt: skip


def queued_logs(count: int, run_id: UUID | None) -> list[QueuedEvent]:
    """Records as ``AgentRecorder.log`` queues them (the layout of ``encode_log``)."""
    now = time.time()
    return [
        (LOG, LogLevel.INFO, "vigil.access", f"GET /runs/{i} 200", run_id, None,
         f"{i:032x}", None, None, access_attributes(i), "bench", now)
        for i in range(count)
    ]  # fmt: skip


def per_record_us(action: Callable[[], object], records: int, rounds: int) -> float:
    """Median microseconds a record of ``action`` over ``rounds``."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) / records * 1e6)
    return statistics.median(times)


def build_and_write(store: EventStore | None, rounds: int) -> dict[str, tuple[float, float]]:
    """(build us, write us) a record of each form; write 0 without a store."""
    items = queued_logs(1_000, None)
    built: dict[str, list[BatchItem]] = {}
    figures: dict[str, tuple[float, float]] = {}
    build_us: dict[str, list[float]] = {form: [] for form in FORMS}
    write_us: dict[str, list[float]] = {form: [] for form in FORMS}
    for _ in range(rounds):  # alternated, so that drift hits both
        for form in FORMS:
            records = form == "entries"

            def build(records: bool = records, form: str = form) -> None:
                built[form], _ = build_batch(items, "bench", records=records)

            build_us[form].append(per_record_us(build, len(items), 1))
            if store is not None:
                write = functools.partial(store.write_batch, built[form])
                write_us[form].append(per_record_us(write, len(items), 1))
    for form in FORMS:
        write_median = statistics.median(write_us[form]) if write_us[form] else 0.0
        figures[form] = (statistics.median(build_us[form]), write_median)
    return figures


def sdk_rate(store: EventStore, form: str, producers: int, records: int) -> tuple[float, float]:
    """(records/s, CPU us a record) of ``producers`` threads logging into the store."""
    runs = [
        store.create_run(RunCreate(name=f"logs-{n}", agent="bench", project_id="bench")).id
        for n in range(producers)
    ]
    sink = StoreSink(store) if form == "entries" else ModelStoreSink(store)
    recorder = AgentRecorder(sink, service="bench", registry=CollectorRegistry(), put_timeout=60.0)

    def produce(run_id: UUID) -> None:
        log = recorder.log
        for i in range(records):
            log("info", f"GET /runs/{i} 200", run_id=run_id, attributes=access_attributes(i))

    elapsed, cpu = run_producers(recorder, runs, produce)
    stored = sum(len(store.query_logs(run_id=run_id, limit=1).items) for run_id in runs)
    if stored != producers:
        raise RuntimeError("records missing from the store")
    total = producers * records
    return total / elapsed, cpu / total * 1e6


@contextmanager
def backends(tmp: str, pg_url: str | None, skip_pg: bool) -> Iterator[dict[str, str]]:
    urls = {"sqlite": f"sqlite:///{tmp}/logs.db"}
    if skip_pg:
        yield urls
        return
    if pg_url is not None:
        yield {**urls, "postgresql": pg_url}
        return
    from tests.pg_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield {**urls, "postgresql": server.create_database("log_bench")}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--records", type=int, default=20_000, help="records per producer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="vigil-log-bench-") as tmp,
        backends(tmp, args.pg_url, args.skip_pg) as urls,
    ):
        for name, url in urls.items():
            upgrade(url)
            with open_store(url) as store:
                figures = build_and_write(store, args.rounds)
                for form, (build, write) in figures.items():
                    print(f"{name:<10} {form:<8} build {build:6.2f} us/record, "
                          f"write_batch {write:6.2f} us/record", flush=True)  # fmt: skip
                (mb, mw), (eb, ew) = figures["models"], figures["entries"]
                print(f"{name:<10} entries / models: build x{eb / mb:.2f}, "
                      f"write_batch x{ew / mw:.2f}")  # fmt: skip
                rates: dict[str, list[tuple[float, float]]] = {form: [] for form in FORMS}
                for _ in range(args.rounds):
                    for form in FORMS:
                        rates[form].append(sdk_rate(store, form, args.producers, args.records))
                for form in FORMS:
                    rate = statistics.median(r for r, _ in rates[form])
                    cpu = statistics.median(c for _, c in rates[form])
                    print(f"{name:<10} {form:<8} SDK -> StoreSink {rate:9,.0f} records/s "
                          f"(CPU {cpu:5.1f} us/record; {args.producers} x "
                          f"{args.records:,}, median of {args.rounds})")  # fmt: skip
                entries = statistics.median(r for r, _ in rates["entries"])
                models = statistics.median(r for r, _ in rates["models"])
                print(f"{name:<10} entries / models: x{entries / models:.2f} records/s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
