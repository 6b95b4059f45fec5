#!/usr/bin/env python3
"""What the tracing calls cost when tracing is off, and when it is on, per call.

Four cases, each in a fresh interpreter: the OpenTelemetry SDK hidden (an agent installed
without the ``tracing`` extra), the SDK installed but no TracerProvider set, then tracing on
(``setup_tracing`` with an exporter that discards). Per case: entering and leaving a
``TracingContext``, ``AgentRecorder.span`` with a step recorded inside (the step alone is
timed as the baseline), and ``current_trace_ids()`` (what every log line pays). Minimum of 7
timings of 20,000 calls each, so a busy machine inflates the figures less.

    .venv/bin/python benchmarks/tracing_noop.py
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import sys, timeit, uuid
HIDDEN = {hidden!r}
if HIDDEN:
    import importlib.abc
    class Hidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == p or name.startswith(p + ".") for p in HIDDEN):
                raise ModuleNotFoundError(name)
    sys.meta_path.insert(0, Hidden())
from vigil.models import BatchWriteResult
from vigil.sdk import AgentRecorder, EventSink
from vigil.tracing import TracingContext, current_trace_ids, setup_tracing

class Discard(EventSink):
    def write(self, events, *, batch_id=None):
        return BatchWriteResult(steps=0, logs=0, measurements=0, spans=0)
    def create_run(self, run): raise NotImplementedError
    def finish_run(self, run_id, finish): raise NotImplementedError

if {on!r}:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    class Null(SpanExporter):
        def export(self, spans): return SpanExportResult.SUCCESS
    setup_tracing("bench", exporters=[Null()], langfuse=False)
recorder = AgentRecorder(Discard(), service="bench", max_queue=1_000_000)
run_id = uuid.uuid4()

def context():
    with TracingContext("op"):
        pass

def step():
    recorder.log_step(run_id, "thought")

def span_with_step():
    with recorder.span("op"):
        recorder.log_step(run_id, "thought")

def best(fn, n=20_000):
    return min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6

timings = (best(context), best(step), best(span_with_step), best(current_trace_ids))
print(" ".join(f"{{t:.2f}}" for t in timings))
recorder.close()
"""

CASES: tuple[tuple[str, list[str], bool], ...] = (
    ("SDK not installed", ["opentelemetry.sdk", "opentelemetry.exporter", "langfuse"], False),
    ("SDK installed, no provider", [], False),
    ("tracing on (null exporter)", [], True),
)


def main() -> int:
    print(f"{'case':<30} {'TracingContext':>15} {'step':>8} {'span+step':>10} {'trace ids':>10}")
    for label, hidden, on in CASES:
        code = textwrap.dedent(PROGRAM.format(hidden=hidden, on=on))
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"},
        ).stdout.split()
        context, step, span_step, ids = (float(value) for value in out[-4:])
        print(
            f"{label:<30} {context:12.2f} us {step:5.2f} us {span_step:7.2f} us {ids:7.2f} us"
            f"   (span alone: {span_step - step:.2f} us)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
