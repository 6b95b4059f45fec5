#!/usr/bin/env python3
"""Spans per second through ``StoreSpanExporter`` into PostgreSQL (target: 50,000/s).

Finished spans are made first with the real tracing path (server spans of the
instrumentation's ``RequestTracer`` and agent spans of ``TracingContext``, half each, with
their attributes), then handed to ``StoreSpanExporter.export`` in the batches its
``BatchSpanProcessor`` sends (1,000), back to back from one thread, for a few seconds: this
measures the exporter and the store (conversion, COPY, commit), not span creation. Ids are
fresh in every pass, as live spans are. Also prints the client's CPU per span, which is
what an exporting process pays besides its own work.

    .venv/bin/python benchmarks/span_export.py                 # a throwaway PostgreSQL
    .venv/bin/python benchmarks/span_export.py --seconds 10 --postgres-url postgresql+psycopg://u@h/db
    .venv/bin/python benchmarks/span_export.py --backend sqlite

Without --postgres-url it starts a PostgreSQL server from the local binaries with the test
suite's helper (tests/pg_server.py: fsync off, so it measures the exporter, not the disk).
"""

from __future__ import annotations

import argparse
import random
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
    from vigil.tracing import TracingContext, get_tracer, setup_tracing
    from vigil.tracing._request import RequestTracer
    from vigil.tracing._setup import flush_tracing

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
    flush_tracing()
    return collected.spans


def with_fresh_ids(spans: list[ReadableSpan], rng: random.Random) -> list[ReadableSpan]:
    """Copies of ``spans`` under new trace ids (a new pass must not collide with the last)."""
    from opentelemetry.trace import SpanContext

    by_trace: dict[int, int] = {}
    fresh: list[ReadableSpan] = []
    for span in spans:
        context = span.context
        trace_id = by_trace.setdefault(context.trace_id, rng.getrandbits(128) or 1)
        new_context = SpanContext(trace_id, context.span_id, False, context.trace_flags)
        copy = ReadableSpan(
            name=span.name, context=new_context, parent=span.parent, resource=span.resource,
            attributes=span.attributes, events=span.events, kind=span.kind,
            status=span.status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )  # fmt: skip
        fresh.append(copy)
    return fresh


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
    args = parser.parse_args()

    from vigil.storage import open_store, upgrade
    from vigil.tracing import StoreSpanExporter

    spans = make_spans(DISTINCT)
    rng = random.Random(7)  # noqa: S311 - ids for a benchmark, not secrets
    with tempfile.TemporaryDirectory() as tmp, postgres_url(args.postgres_url) as pg:
        url = pg if args.backend == "postgresql" else f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        with open_store(url) as store:
            exporter = StoreSpanExporter(store, service="bench")
            exporter.export(with_fresh_ids(spans[:BATCH], rng))  # warm-up: pool, caches
            exported, waits, cpu = 0, [], 0.0
            while sum(waits) < args.seconds:
                fresh = with_fresh_ids(spans, rng)  # between timings: ids never collide
                for offset in range(0, len(fresh), BATCH):
                    chunk = fresh[offset : offset + BATCH]
                    cpu_began, began = time.process_time(), time.perf_counter()
                    if exporter.export(chunk) is not SpanExportResult.SUCCESS:
                        sys.exit("an export failed")
                    waits.append(time.perf_counter() - began)
                    cpu += time.process_time() - cpu_began
                    exported += len(chunk)
            elapsed = sum(waits)
    rate = exported / elapsed
    print(f"{args.backend}: {exported} spans in {elapsed:.2f} s = {rate:,.0f} spans/s")
    print(
        f"  batch of {BATCH}: median {statistics.median(waits) * 1000:.1f} ms,"
        f" client CPU {cpu / exported * 1e6:.1f} us per span"
    )
    print(f"  target {TARGET:,} spans/s: ratio {rate / TARGET:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
