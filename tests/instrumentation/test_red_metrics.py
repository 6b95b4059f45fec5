"""RED metrics: route templates as labels, bounded labels, probes and /metrics left out."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

import vigil
from tests.instrumentation.conftest import InstrumentedApp
from vigil.instrumentation.access_log import ACCESS_LOGGER
from vigil.instrumentation.project_label import ProjectLabelPolicy
from vigil.instrumentation.red_metrics import RedMetrics, RequestObservation, bounded_method
from vigil.instrumentation.telemetry_middleware import RequestTelemetryMiddleware


def labels(
    endpoint: str, status: str, project_id: str = "none", method: str = "GET"
) -> dict[str, str]:
    return {
        "service": "test-svc",
        "endpoint": endpoint,
        "method": method,
        "status": status,
        "project_id": project_id,
    }


def test_requests_are_counted_by_route_template(instrumented: InstrumentedApp) -> None:
    """Distinct raw paths of one route share the route template's series."""
    for item in ("a", "b", "c"):
        instrumented.client.get(f"/items/{item}")
    assert instrumented.sample("request_count_total", **labels("/items/{item_id}", "200")) == 3
    assert (
        instrumented.sample("request_duration_seconds_count", **labels("/items/{item_id}", "200"))
        == 3
    )
    assert (
        instrumented.sample("response_status_count_total", **labels("/items/{item_id}", "200")) == 3
    )


def test_include_router_prefixes_are_in_the_template(instrumented: InstrumentedApp) -> None:
    """Routes from an included router are labelled with their full template, prefix included."""
    instrumented.client.get("/v1/runs/r-1")
    assert instrumented.sample("request_count_total", **labels("/v1/runs/{run_id}", "200")) == 1


def test_unmatched_paths_share_one_label(instrumented: InstrumentedApp) -> None:
    """Scanner traffic on unknown paths cannot create series per path."""
    for n in range(20):
        instrumented.client.get(f"/wp-admin/{n}.php")
    assert instrumented.sample("request_count_total", **labels("unmatched", "404")) == 20


def test_errors_are_counted_with_their_status(instrumented: InstrumentedApp) -> None:
    """404, 405, 422 and 500 are each counted under their own status."""
    instrumented.client.get("/boom")
    instrumented.client.delete("/items/1")
    instrumented.client.post("/items", json={"a": "not-an-int"})
    assert instrumented.sample("request_count_total", **labels("/boom", "500")) == 1
    assert (
        instrumented.sample(
            "request_count_total", **labels("/items/{item_id}", "405", method="DELETE")
        )
        == 1
    )
    assert instrumented.sample("request_count_total", **labels("/items", "422", method="POST")) == 1
    assert (
        instrumented.sample(
            "unhandled_exceptions_total",
            service="test-svc",
            endpoint="/boom",
            exception_type="RuntimeError",
        )
        == 1
    )


def test_project_id_from_header_and_path(instrumented: InstrumentedApp) -> None:
    """The project label comes from X-Project-Id, or else from a project_id path parameter."""
    instrumented.client.get("/items/1", headers={"X-Project-Id": "alpha"})
    instrumented.client.get("/projects/beta/things")
    assert (
        instrumented.sample(
            "request_count_total", **labels("/items/{item_id}", "200", project_id="alpha")
        )
        == 1
    )
    assert (
        instrumented.sample(
            "request_count_total",
            **labels("/projects/{project_id}/things", "200", project_id="beta"),
        )
        == 1
    )


def test_project_label_is_bounded_under_a_flood(instrumented: InstrumentedApp) -> None:
    """A flood of distinct project ids yields at most cap + 1 (other) label values."""
    cap = 100
    for n in range(300):
        instrumented.client.get("/items/1", headers={"X-Project-Id": f"p{n}"})
    seen = {
        sample.labels["project_id"]
        for metric in instrumented.instrumentation.registry.collect()
        if metric.name == "request_count"
        for sample in metric.samples
    }
    assert len(seen) == cap + 1
    assert "other" in seen
    assert (
        instrumented.sample(
            "request_count_total", **labels("/items/{item_id}", "200", project_id="other")
        )
        == 200
    )


def test_allowlist_maps_everything_else_to_other() -> None:
    """With an allowlist only listed ids keep their label."""
    policy = ProjectLabelPolicy(["a", "b"])
    assert [policy.label_for(p) for p in ("a", "b", "c", None, "")] == [
        "a",
        "b",
        "other",
        "none",
        "none",
    ]


def test_implausible_project_ids_are_other() -> None:
    """Junk values never become labels, even under the cap."""
    policy = ProjectLabelPolicy(cap=10)
    assert policy.label_for("x" * 65) == "other"
    assert policy.label_for("a b") == "other"
    assert policy.label_for("ok-id_1.2") == "ok-id_1.2"


def test_unknown_methods_are_bounded() -> None:
    """Clients can send any method token; the label has a fixed set of values."""
    assert bounded_method("GET") == "GET"
    assert bounded_method("FOOBAR") == "other"


def test_requests_of_unknown_methods_share_the_other_series() -> None:
    """A request of a method token a client made up is in progress, and counted, under
    ``other``; the middleware keeps a deque per known method only, so made-up methods
    cannot grow what it holds."""
    app = FastAPI()
    registry = CollectorRegistry()

    @app.api_route("/custom", methods=["FOO0", "FOO1", "FOO2", "GET"])
    async def custom(request: Request) -> dict[str, float | None]:
        labels = {"service": "svc", "method": bounded_method(request.method)}
        return {"in_progress": registry.get_sample_value("requests_in_progress", labels)}

    vigil.instrument(app, service="svc", registry=registry, configure_logs=False)
    with TestClient(app) as client:
        seen = [client.request(f"FOO{n}", "/custom").json()["in_progress"] for n in range(3)]
        assert client.get("/custom").json()["in_progress"] == 1
    assert seen == [1, 1, 1]
    count = {"service": "svc", "endpoint": "/custom", "status": "200", "project_id": "none"}
    assert registry.get_sample_value("request_count_total", {**count, "method": "other"}) == 3
    assert "FOO" not in generate_latest(registry).decode()
    layer = app.middleware_stack
    while not isinstance(layer, RequestTelemetryMiddleware):
        layer = layer.app  # type: ignore[union-attr]  # each layer wraps the next
    assert set(layer._in_progress) == {"GET"}


def test_probes_and_metrics_are_not_counted(instrumented: InstrumentedApp) -> None:
    """Probe and scrape traffic does not show up in request metrics."""
    for path in ("/health/live", "/health/ready", "/health/startup", "/metrics"):
        instrumented.client.get(path)
    body = instrumented.client.get("/metrics").text
    assert "/health" not in body
    assert 'endpoint="/metrics"' not in body


def test_in_progress_returns_to_zero(instrumented: InstrumentedApp) -> None:
    """The in-progress gauge goes up during a request and back down after, errors included."""
    instrumented.client.get("/items/1")
    instrumented.client.get("/boom")
    assert instrumented.sample("requests_in_progress", service="test-svc", method="GET") == 0


def test_a_raising_access_log_filter_leaves_nothing_in_progress(
    instrumented: InstrumentedApp,
) -> None:
    """A filter of the application's on the access logger that raises: the request is still
    counted, and no longer in progress once done (it stayed at 1 for good)."""

    class Broken(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise RuntimeError("a filter's bug")

    access = logging.getLogger(ACCESS_LOGGER)
    broken = Broken()
    access.addFilter(broken)
    try:
        for _ in range(3):
            instrumented.client.get("/items/1")
    finally:
        access.removeFilter(broken)
    assert instrumented.sample("requests_in_progress", service="test-svc", method="GET") == 0
    assert instrumented.sample("request_count_total", **labels("/items/{item_id}", "200")) == 3


def test_metrics_are_shared_per_registry() -> None:
    """Instrumenting twice on one registry reuses the metrics instead of failing."""
    registry = CollectorRegistry()
    assert RedMetrics.for_registry(registry) is RedMetrics.for_registry(registry)


def test_the_request_counters_are_the_histograms_counts() -> None:
    """request_count and response_status_count are read off the duration histogram: per
    label set, the same value and creation time as its _count; exposed as counters (with
    _total and _created), in the text format and in OpenMetrics; registered names, so a
    second set of them in the registry is refused."""
    registry = CollectorRegistry()
    metrics = RedMetrics(registry)
    for status, seconds in ((200, 0.01), (200, 0.3), (404, 0.002)):
        observation = RequestObservation("GET", "/x", "/x", status, seconds, "none", None)
        metrics.observe("test-svc", observation)
    for status, count in (("200", 2.0), ("404", 1.0)):
        at = labels("/x", status)
        histogram_count = registry.get_sample_value("request_duration_seconds_count", at)
        created = registry.get_sample_value("request_duration_seconds_created", at)
        assert histogram_count == count
        for counter in ("request_count", "response_status_count"):
            assert registry.get_sample_value(f"{counter}_total", at) == count
            assert registry.get_sample_value(f"{counter}_created", at) == created
    text = generate_latest(registry).decode()
    assert "# TYPE request_count_total counter" in text
    assert "# TYPE response_status_count counter" in openmetrics_latest(registry).decode()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("request_count", "again", registry=registry)


def test_requests_in_progress_is_exposed_as_a_gauge_was() -> None:
    """requests_in_progress counts the requests between their start and end, per service
    and (bounded) method, in the exposition a prometheus_client Gauge gives (text and
    OpenMetrics); its name is registered, so a second one is refused."""
    registry = CollectorRegistry()
    metrics = RedMetrics(registry)
    started = [metrics.in_progress("test-svc", method) for method in ("GET", "GET", "BREW")]
    for requests in started:
        requests.append(None)
    metrics.in_progress("test-svc", "POST").append(None)
    metrics.in_progress("test-svc", "POST").pop()
    assert started[0] is started[1]
    assert started[2] is metrics.in_progress("test-svc", "other")

    reference = CollectorRegistry()
    gauge = Gauge(
        "requests_in_progress", "HTTP requests being served.", ("service", "method"),
        registry=reference,
    )  # fmt: skip
    gauge.labels("test-svc", "GET").set(2)
    gauge.labels("test-svc", "other").set(1)
    gauge.labels("test-svc", "POST").set(0)

    def in_progress_lines(exposition: bytes) -> list[str]:
        return [line for line in exposition.decode().splitlines() if "in_progress" in line]

    for render in (generate_latest, openmetrics_latest):
        assert in_progress_lines(render(registry)) == in_progress_lines(render(reference))
    assert (
        registry.get_sample_value("requests_in_progress", {"service": "test-svc", "method": "GET"})
        == 2
    )
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Gauge("requests_in_progress", "again", registry=registry)


def test_a_request_is_in_progress_until_it_is_recorded(instrumented: InstrumentedApp) -> None:
    """The gauge reads 1 while a request runs (seen from inside the endpoint) and 0 after."""
    seen = instrumented.client.get("/in-progress").json()
    assert seen == {"in_progress": 1.0}
    assert instrumented.sample("requests_in_progress", service="test-svc", method="GET") == 0
