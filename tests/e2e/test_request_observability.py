"""One request with a known X-Request-Id, followed through the live stack: echoed on the
response, counted on /metrics, scraped by Prometheus with the expected labels, and its access
record found in the controller's log store by that id; with a traceparent, its trace id kept
by Prometheus as the latency exemplar and its span tree at GET /traces/{id}."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.native_stack import StackUnderTest
from tests.e2e.polling import wait_for

pytestmark = pytest.mark.e2e

SERVICE = "vigil-controller"
INFO = {"service": SERVICE, "endpoint": "/info", "method": "GET", "status": "200"}
SCRAPE_TIMEOUT_S = 60  # the native test stack scrapes every second, compose every 15s


def _request_count(client: httpx.Client) -> float:
    """request_count_total of GET /info answered 200, over every project_id."""
    response = client.get("/metrics")
    response.raise_for_status()
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "request_count_total"
        and all(sample.labels.get(key) == value for key, value in INFO.items())
    )


def _traced_request(client: httpx.Client) -> str:
    request_id = f"e2e-{uuid.uuid4().hex}"
    response = client.get("/info", headers={"X-Request-Id": request_id})
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-Id"] == request_id
    return request_id


def test_request_with_known_id_increments_request_count(controller: httpx.Client) -> None:
    before = _request_count(controller)
    _traced_request(controller)
    assert _request_count(controller) == before + 1


def test_prometheus_scraped_the_series_with_its_labels(
    controller: httpx.Client, stack_under_test: StackUnderTest
) -> None:
    """Prometheus, through its query API, has the series the request counted, from the
    vigil-controller job and target, with every RED label."""
    _traced_request(controller)
    expected = _request_count(controller)
    selector = ",".join(f'{key}="{value}"' for key, value in INFO.items())
    query = f'request_count_total{{job="vigil-controller",{selector}}}'

    def scraped() -> list[dict[str, object]] | None:
        response = httpx.get(
            f"{stack_under_test.prometheus}/api/v1/query",
            params={"query": query},
            auth=stack_under_test.prometheus_auth,
            timeout=5,
        )
        series: list[dict[str, object]] = response.json()["data"]["result"]
        total = sum(float(s["value"][1]) for s in series)  # type: ignore[index]
        return series if total >= expected else None

    series = wait_for(
        f"Prometheus to scrape {query} >= {expected}",
        scraped,
        timeout_s=SCRAPE_TIMEOUT_S,
    )
    for one in series:
        labels = one["metric"]
        assert isinstance(labels, dict)
        assert labels["__name__"] == "request_count_total"
        assert labels["job"] == "vigil-controller"
        assert labels["instance"] == stack_under_test.scrape_instance
        assert {key: labels[key] for key in INFO} == INFO
        assert "project_id" in labels


def test_access_record_found_by_request_id(controller: httpx.Client) -> None:
    """GET /logs?request_id= returns the controller's own access record of that request."""
    request_id = _traced_request(controller)

    def access_records() -> list[dict[str, object]] | None:
        response = controller.get("/logs", params={"request_id": request_id})
        response.raise_for_status()
        items = response.json()["items"]
        return [r for r in items if r["logger"] == "vigil.access"] or None

    [record] = wait_for(
        f"the access record of request {request_id} in GET /logs",
        access_records,
        timeout_s=30,
    )
    assert record["request_id"] == request_id
    assert record["message"] == "GET /info 200"
    attributes = record["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["method"] == "GET"
    assert attributes["path"] == "/info"
    assert attributes["status"] == 200


def test_a_traced_requests_exemplar_leads_to_its_trace(
    controller: httpx.Client, stack_under_test: StackUnderTest
) -> None:
    """The path Grafana's exemplar link takes: Prometheus (exemplar storage on) scraped the
    trace id of a request as the exemplar of request_duration_seconds; the controller
    serves that trace, continuing the caller's span."""
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response = controller.get("/info", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert response.status_code == 200

    def exemplar() -> list[object] | None:
        response = httpx.get(
            f"{stack_under_test.prometheus}/api/v1/query_exemplars",
            params={
                "query": 'request_duration_seconds_bucket{job="vigil-controller",endpoint="/info"}',
                "start": "0",
                "end": str(10**10),
            },
            auth=stack_under_test.prometheus_auth,
            timeout=5,
        )
        found = [
            e
            for series in response.json()["data"]
            for e in series["exemplars"]
            if e["labels"].get("trace_id") == trace_id
        ]
        return found or None

    wait_for(f"Prometheus to keep the exemplar of trace {trace_id}", exemplar,
             timeout_s=SCRAPE_TIMEOUT_S)  # fmt: skip

    def trace() -> dict[str, object] | None:
        response = controller.get(f"/traces/{trace_id}")
        return response.json() if response.status_code == 200 else None

    tree = wait_for(f"GET /traces/{trace_id}", trace, timeout_s=30)
    [root] = tree["roots"]  # type: ignore[misc]
    assert root["name"] == "GET /info"
    assert root["parent_span_id"] == parent
