"""Temporal's own telemetry on Vigil's: spans through the SDK's OpenTelemetry interceptor on
the TracerProvider ``vigil.tracing.setup_tracing`` set up, metrics on a Prometheus endpoint.

    runtime = temporal_runtime("127.0.0.1:9464")      # before the first Client.connect
    client = await Client.connect(address, runtime=runtime,
                                  interceptors=[tracing_interceptor("support-worker"),
                                                VigilInterceptor(recorder)])

The SDK's metrics (its Rust core's: ``temporal_workflow_completed_total``,
``temporal_activity_execution_latency``, ``temporal_request``, ...) are served by the core at
``http://<address>/metrics``; ``prometheus/prometheus.yml`` scrapes a worker there (job
``temporal-sdk``). Counters end in ``_total`` and durations are in seconds, the Prometheus
conventions the rest of the stack follows.
"""

from __future__ import annotations

from typing import Any

from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from vigil.tracing import setup_tracing


def temporal_runtime(metrics_address: str, **tags: str) -> Runtime:
    """A Temporal ``Runtime`` serving the SDK's metrics for Prometheus at ``metrics_address``
    (``host:port``); ``tags`` become labels of every series. Pass it to ``Client.connect``."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=metrics_address,
                counters_total_suffix=True,
                durations_as_seconds=True,
            ),
            global_tags=tags,
        )
    )


def tracing_interceptor(service: str, **setup: Any) -> TracingInterceptor:
    """The SDK's ``TracingInterceptor`` on Vigil's tracing (``setup_tracing(service, **setup)``,
    e.g. ``recorder=`` to send the spans with the agent's records): a span per workflow
    start, signal, workflow run and activity attempt, continued across processes through
    Temporal headers."""
    return TracingInterceptor(setup_tracing(service, **setup))
