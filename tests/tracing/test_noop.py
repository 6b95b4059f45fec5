"""Without the OpenTelemetry SDK (an agent installed without the ``tracing`` extra), or
without OpenTelemetry at all, ``vigil.sdk`` and ``vigil.tracing`` import and every tracing
call works as a no-op. Each case runs in a fresh interpreter whose imports of the hidden
packages fail, as if they were not installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"

BLOCKER = """
import importlib.abc, sys

class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == p or name.startswith(p + ".") for p in HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Hidden())
"""

PROGRAM = """
import logging, re, sys
from collections.abc import Sequence

logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
import vigil.sdk
import vigil.tracing
from vigil.models import BatchEvent, BatchWriteResult, RunCreate, RunFinish
from vigil.sdk import AgentRecorder, EventSink, run_context
from vigil.tracing import (
    TracingContext, current_trace_ids, generate_correlation_id, get_tracer, setup_tracing,
)

class MemorySink(EventSink):
    def __init__(self):
        self.events = []
    def write(self, events, *, batch_id=None):
        self.events.extend(events)
        return BatchWriteResult(steps=0, logs=0, measurements=0, spans=0)
    def create_run(self, run):
        raise NotImplementedError
    def finish_run(self, run_id, finish):
        raise NotImplementedError

hex32 = re.compile("[0-9a-f]{32}")
assert hex32.fullmatch(generate_correlation_id())
assert current_trace_ids() is None
setup_tracing("agent")                       # says how to install the SDK, returns a tracer
with TracingContext("job", {"k": {"nested": 1}}) as ctx:
    ctx.set_attribute("a", 1)
    ctx.add_event("e")
    ctx.set_status("error", "x")
    assert ctx.span is None
assert hex32.fullmatch(ctx.trace_id) and len(ctx.span_id) == 16
with get_tracer("x").start_as_current_span("y") as span:
    assert not span.is_recording()

sink = MemorySink()
recorder = AgentRecorder(sink, service="agent")
import uuid
run_id = uuid.uuid4()
with recorder.span("tool.search", attributes={"q": "refund"}, run_id=run_id):
    recorder.log_step(run_id, "thought", data={"t": 1})
assert recorder.close()
assert [type(e).__name__ for e in sink.events] == ["StepEvent"]  # no span: tracing is off
assert sink.events[0].trace_id is None

from vigil.instrumentation.json_logging import configure_logging
configure_logging("agent")
logging.getLogger("agent").info("a JSON line without trace ids")

if "opentelemetry" not in HIDDEN:       # FastAPI needs the API: a web service has it
    from fastapi import FastAPI
    from prometheus_client import CollectorRegistry
    from starlette.testclient import TestClient
    import vigil
    app = FastAPI()
    vigil.instrument(app, service="agent", registry=CollectorRegistry(), tracing=True)
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/missing").status_code == 404   # served, untraced

watched = ("opentelemetry", "fastapi", "sqlalchemy", "langfuse")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in watched)
print("LOADED", ",".join(loaded))
"""


def _run(hidden: list[str]) -> subprocess.CompletedProcess[str]:
    code = f"HIDDEN = {hidden!r}\n" + BLOCKER + textwrap.dedent(PROGRAM)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(BACKEND), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.parametrize(
    ("hidden", "case"),
    [
        (["opentelemetry.sdk", "opentelemetry.exporter", "langfuse"], "without the SDK"),
        (["opentelemetry", "langfuse"], "without OpenTelemetry at all"),
    ],
    ids=["sdk-absent", "opentelemetry-absent"],
)
def test_tracing_calls_are_no_ops(hidden: list[str], case: str) -> None:
    result = _run(hidden)
    assert result.returncode == 0, f"{case}:\n{result.stdout}\n{result.stderr}"
    assert "OpenTelemetry SDK not installed (pip install 'vigil[tracing]')" in result.stderr
    (loaded,) = [line for line in result.stdout.splitlines() if line.startswith("LOADED")]
    modules = loaded.removeprefix("LOADED ").split(",")
    # An agent's import of vigil.sdk loads neither FastAPI nor SQLAlchemy, nor the SDK (the
    # web service of the SDK-less case loads FastAPI itself).
    assert not [m for m in modules if m.startswith(("sqlalchemy", "opentelemetry.sdk"))]
    if "opentelemetry" in hidden:
        assert not [m for m in modules if m.startswith("fastapi")]
    else:
        assert "tracing=True, but the OpenTelemetry SDK is not installed" in result.stderr
    if "opentelemetry" in hidden:
        assert not [m for m in modules if m.startswith("opentelemetry")]
    assert '"message":"a JSON line without trace ids"' in result.stdout
