"""Temporal in Vigil: each workflow execution a Vigil workflow, each activity attempt a step,
the SDK's spans and metrics on Vigil's tracing and Prometheus (the ``temporal`` extra).

    from vigil.integrations.temporal import (
        TemporalRecorder, VigilInterceptor, temporal_runtime, tracing_interceptor,
    )
    from vigil.sdk import HttpSink

    recorder = TemporalRecorder(HttpSink(), project_id="support")
    client = await Client.connect(
        "127.0.0.1:7233",
        runtime=temporal_runtime("127.0.0.1:9464"),
        interceptors=[tracing_interceptor("support-worker"), VigilInterceptor(recorder)],
    )

The execution ``<workflow id>:<run id>`` is found with ``GET /workflows?correlation_id=``;
its steps under the run its metadata names. Guide and guarantees: docs/temporal.md.
"""

from vigil.integrations.temporal._events import Outcome
from vigil.integrations.temporal._interceptor import VigilInterceptor
from vigil.integrations.temporal._keys import correlation_id, derived_id
from vigil.integrations.temporal._recorder import TemporalRecorder
from vigil.integrations.temporal._telemetry import temporal_runtime, tracing_interceptor

__all__ = [
    "Outcome",
    "TemporalRecorder",
    "VigilInterceptor",
    "correlation_id",
    "derived_id",
    "temporal_runtime",
    "tracing_interceptor",
]
