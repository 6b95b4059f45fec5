"""Vigil's agent SDK: record runs, steps, execution logs, measurements and spans from agent
code without waiting on the database or the network.

    from vigil.sdk import AgentRecorder, ExecutionLogHandler, HttpSink

    recorder = AgentRecorder(HttpSink("http://localhost:8000", token=...), service="support")
    logging.getLogger().addHandler(ExecutionLogHandler(recorder))
    with recorder.run("triage", agent="support", project_id="p1") as run:
        recorder.log_step(run.id, "tool_call", name="search", data={"q": "refund"})
        logging.getLogger("support").info("found 3 orders")   # an execution log of the run
        video = recorder.upload_artifact(run.id, "render.mp4", kind="video")  # returns at once
        recorder.log_step(run.id, "tool_result", name="render", artifacts=[video])
    recorder.close()

Producer calls queue events in memory; a writer thread sends them in batches to a sink
(``StoreSink`` into an ``EventStore``, ``HttpSink`` to the controller's ``/events/batch``);
with ``spool="agent.spool"``, what the sink cannot take meanwhile waits in that file.
``recorder.span(...)`` is an OpenTelemetry span; ``vigil.tracing.setup_tracing(service,
recorder=recorder)`` sends finished spans the same way (docs/tracing.md).
Guide, guarantees and metrics: docs/sdk.md.
``StoreSink`` is imported on first use (PEP 562): an agent posting over HTTP never loads
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil._run_context import current_project, current_run_id, current_step_id, run_context
from vigil.sdk._artifacts import ArtifactUpload, ArtifactUploader, ArtifactUploadError
from vigil.sdk._http_sink import HttpSink
from vigil.sdk._log_handler import ExecutionLogHandler
from vigil.sdk._metrics import DropReason, SdkMetrics
from vigil.sdk._recorder import AgentRecorder
from vigil.sdk._sink import EventSink, SinkError, SinkRejected, SinkUnavailable
from vigil.sdk._spool import SpoolInUse

if TYPE_CHECKING:
    from vigil.sdk._store_sink import StoreSink

__all__ = [
    "AgentRecorder",
    "ArtifactUpload",
    "ArtifactUploadError",
    "ArtifactUploader",
    "DropReason",
    "EventSink",
    "ExecutionLogHandler",
    "HttpSink",
    "SdkMetrics",
    "SinkError",
    "SinkRejected",
    "SinkUnavailable",
    "SpoolInUse",
    "StoreSink",
    "current_project",
    "current_run_id",
    "current_step_id",
    "run_context",
]


def __getattr__(name: str) -> Any:
    if name == "StoreSink":
        from vigil.sdk._store_sink import StoreSink

        return StoreSink
    raise AttributeError(f"module 'vigil.sdk' has no attribute {name!r}")
