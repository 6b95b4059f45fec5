#!/usr/bin/env python3
"""Spans per second through ``StoreSpanExporter`` into PostgreSQL (target: 50,000/s).

Finished spans are made first with the real tracing path (server spans of the
instrumentation's ``RequestTracer`` and agent spans of ``TracingContext``, half each, with
their attributes), then handed to ``StoreSpanExporter.export`` in the batches its
``BatchSpanProcessor`` sends (1,000), back to back from one thread, for a few seconds: this
measures the exporter and the store (conversion, COPY, commit), not span creation (only the
export calls are timed). ``--batch 10`` shows the cost per batch (round trips, commit)
that a lightly loaded process, whose processor sends small batches, pays per span.
Each pass makes 20,000 fresh spans (new ids, as live spans have).
Also prints the client's CPU per span, which is what an exporting process pays besides its
own work.

    .venv/bin/python benchmarks/span_export.py                 # a throwaway PostgreSQL
    .venv/bin/python benchmarks/span_export.py --seconds 10 --postgres-url postgresql+psycopg://u@h/db
    .venv/bin/python benchmarks/span_export.py --backend sqlite

Without --postgres-url it starts a PostgreSQL server from the local binaries with the test
suite's helper (tests/pg_server.py: fsync off, so it measures the exporter, not the disk).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server

from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

TARGET = 50_000
BATCH = 1_000
DISTINCT = 20_000


class _Collect(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def make_spans(count: int) -> list[ReadableSpan]:
    """``count`` finished spans from the real paths: request spans and agent spans."""
    from vigil.tracing import TracingContext, get_tracer, setup_tracing, shutdown_tracing
    from vigil.tracing._request import RequestTracer

    collected = _Collect()
    setup_tracing("bench", exporters=[collected], langfuse=False)
    requests = RequestTracer()
    agent = get_tracer("vigil.agent")
    for n in range(count // 2):
        scope = {"type": "http", "method": "GET", "path": f"/runs/{n}", "headers": []}
        traced = requests.start(scope)
        with TracingContext("tool.search", {"query": "refund", "n": n}, tracer=agent):
            pass
        requests.finish(traced, scope, endpoint="/runs/{run_id}", status=200, error=None)
    shutdown_tracing()
    return collected.spans


@contextmanager
def postgres_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.pg_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield server.create_database("vigil_bench_spans")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url")
    parser.add_argument(
        "--batch", type=int, default=BATCH,
        help="spans per export call (a lightly loaded process sends small batches)",
    )  # fmt: skip
    args = parser.parse_args()
    batch = args.batch

    from vigil.storage import open_store, upgrade
    from vigil.tracing import StoreSpanExporter

    with tempfile.TemporaryDirectory() as tmp, postgres_url(args.postgres_url) as pg:
        url = pg if args.backend == "postgresql" else f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        with open_store(url) as store:
            exporter = StoreSpanExporter(store, service="bench")
            exporter.export(make_spans(BATCH))  # warm-up: pool, caches
            exported, cpu = 0, 0.0
            waits: list[float] = []
            while sum(waits) < args.seconds:
                spans = make_spans(DISTINCT)  # between timings: fresh ids, as live spans have
                # A live queue holds about a batch, not 20,000 spans that every full garbage
                # collection would walk: keep those out of the collector's way.
                gc.collect()
                gc.freeze()
                for offset in range(0, len(spans), batch):
                    chunk = spans[offset : offset + batch]
                    cpu_began, began = time.process_time(), time.perf_counter()
                    if exporter.export(chunk) is not SpanExportResult.SUCCESS:
                        sys.exit("an export failed")
                    waits.append(time.perf_counter() - began)
                    cpu += time.process_time() - cpu_began
                    exported += len(chunk)
                gc.unfreeze()
            elapsed = sum(waits)
    rate = exported / elapsed
    print(f"{args.backend}: {exported} spans in {elapsed:.2f} s = {rate:,.0f} spans/s")
    print(
        f"  batch of {batch}: median {statistics.median(waits) * 1000:.1f} ms,"
        f" client CPU {cpu / exported * 1e6:.1f} us per span"
    )
    print(f"  target {TARGET:,} spans/s: ratio {rate / TARGET:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
