"""``GET /traces/{trace_id}`` and ``GET /runs/{run_id}/trace``, and the controller's own
request spans (``VIGIL_TRACING_ENABLED``) in its store, joined to its stored logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.controller.conftest import ControllerData, controller_settings
from tests.controller.test_api_keys import make_key
from tests.e2e.polling import wait_for
from vigil.controller import create_app
from vigil.tracing._setup import flush_tracing

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"


@pytest.fixture
def traced_api(
    store_url: str, controller_data: ControllerData, fresh_tracing: None
) -> Iterator[TestClient]:
    """A controller tracing its own requests into its store."""
    settings = controller_settings(store_url, controller_data, tracing_enabled=True)
    with TestClient(
        create_app(settings), raise_server_exceptions=False, headers=controller_data.headers
    ) as client:
        yield client


def settled(api: TestClient) -> None:
    """The last request's span ended (TestClient returns at the last body byte) and every
    queued span is stored."""
    api.get("/health/live")
    assert flush_tracing()


def span(name: str, span_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "event": "span",
        "trace_id": fields.pop("trace_id", PARENT_TRACE),
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "service": "agent",
        "start_time": fields.pop("start_time", "2026-12-01T08:00:00Z"),
        "end_time": "2026-12-01T08:00:01Z",
        **fields,
    }


def test_the_controllers_request_continues_the_callers_trace(traced_api: TestClient) -> None:
    """A request with a traceparent: its server span is stored under the caller's trace,
    child of the caller's span, and its access record (at GET /logs) carries the ids."""
    run = traced_api.post(
        "/runs",
        json={"name": "r", "agent": "a", "project_id": "p1"},
        headers={"traceparent": TRACEPARENT, "X-Request-Id": "req-traced-1"},
    )
    assert run.status_code == 201
    settled(traced_api)

    tree = traced_api.get(f"/traces/{PARENT_TRACE}")
    assert tree.status_code == 200, tree.text
    body = tree.json()
    assert (body["trace_id"], body["span_count"], body["truncated"]) == (PARENT_TRACE, 1, False)
    (root,) = body["roots"]
    assert (root["name"], root["kind"], root["parent_span_id"]) == (
        "POST /runs",
        "server",
        PARENT_SPAN,
    )
    assert root["service"] == "vigil-controller"
    assert root["attributes"]["vigil.request_id"] == "req-traced-1"
    assert root["attributes"]["http.response.status_code"] == 201

    def access_records() -> list[dict[str, Any]]:  # stored in the background, in batches
        records = traced_api.get("/logs", params={"request_id": "req-traced-1"}).json()["items"]
        return [record for record in records if record["logger"] == "vigil.access"]

    wait_for("the access record at /logs", lambda: bool(access_records()), timeout_s=10)
    (access,) = access_records()
    assert (access["trace_id"], access["span_id"]) == (PARENT_TRACE, root["span_id"])


def test_a_runs_spans_come_back_as_trees(traced_api: TestClient) -> None:
    run = traced_api.post("/runs", json={"name": "r", "agent": "a", "project_id": "p1"}).json()
    other = "1" * 32
    events = [
        span("plan", "0000000000000001", run_id=run["id"]),
        span("tool.search", "0000000000000002", "0000000000000001", run_id=run["id"]),
        span("retry", "0000000000000003", trace_id=other, run_id=run["id"],
             start_time="2026-12-01T08:00:05Z"),
        span("not this run", "0000000000000004"),
    ]  # fmt: skip
    assert traced_api.post("/events/batch", json={"events": events}).status_code == 202

    result = traced_api.get(f"/runs/{run['id']}/trace").json()
    assert (result["run_id"], result["span_count"]) == (run["id"], 3)
    first, second = result["traces"]
    assert first["trace_id"] == PARENT_TRACE
    assert [(r["name"], [c["name"] for c in r["children"]]) for r in first["roots"]] == [
        ("plan", ["tool.search"])
    ]
    assert second["trace_id"] == other
    assert traced_api.get(f"/runs/{'0' * 8}-0000-7000-8000-{'0' * 12}/trace").status_code == 404


def test_a_projects_key_sees_its_projects_spans_only(api: TestClient) -> None:
    p1, p2 = (
        make_key(api, "ingest", "read", project_id="p1"),
        make_key(api, "read", project_id="p2"),
    )
    run = api.post("/runs", json={"name": "r", "agent": "a", "project_id": "p1"}, headers=p1).json()
    batch = {"events": [span("plan", "0000000000000001", run_id=run["id"])]}
    assert api.post("/events/batch", json=batch, headers=p1).status_code == 202

    assert api.get(f"/traces/{PARENT_TRACE}", headers=p1).json()["span_count"] == 1
    assert api.get(f"/traces/{PARENT_TRACE}", headers=p2).status_code == 404
    assert api.get(f"/runs/{run['id']}/trace", headers=p2).status_code == 404
    assert api.get(f"/runs/{run['id']}/trace", headers=p1).json()["span_count"] == 1


@pytest.mark.parametrize("trace_id", ["XYZ", PARENT_TRACE.upper(), PARENT_TRACE + "0"])
def test_a_malformed_trace_id_is_422(api: TestClient, trace_id: str) -> None:
    response = api.get(f"/traces/{trace_id}")
    assert response.status_code == 422
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_an_unknown_trace_is_404(api: TestClient) -> None:
    response = api.get(f"/traces/{'e' * 32}")
    assert response.status_code == 404
    assert response.json()["detail"] == f"trace {'e' * 32} not found"
