"""/metrics speaks the Prometheus text format and, when asked, OpenMetrics."""

from __future__ import annotations

from tests.instrumentation.conftest import InstrumentedApp

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def test_text_format_by_default(instrumented: InstrumentedApp) -> None:
    """A plain scrape gets text format 0.0.4 with the _total counter names."""
    instrumented.client.get("/items/1")
    response = instrumented.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "request_count_total{" in response.text
    assert "# EOF" not in response.text


def test_openmetrics_when_asked(instrumented: InstrumentedApp) -> None:
    """Prometheus' Accept header for OpenMetrics gets OpenMetrics (needed for exemplars)."""
    instrumented.client.get("/items/1")
    response = instrumented.client.get(
        "/metrics", headers={"Accept": f"{OPENMETRICS},text/plain;version=0.0.4;q=0.5"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert "request_count_total{" in response.text


def test_metrics_route_is_not_in_openapi(instrumented: InstrumentedApp) -> None:
    """The scrape endpoint and probes stay out of the API schema."""
    paths = instrumented.client.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths
    assert not [p for p in paths if p.startswith("/health")]
