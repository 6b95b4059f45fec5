"""Logs, workflows and measurements through the HTTP API."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from tests.controller.test_runs_api import create_run


def test_logs_by_request_id_and_run(api: TestClient) -> None:
    """Logs sent for a run are found by run id, by level and by request id."""
    run = create_run(api)
    events = [
        {
            "event": "log",
            "level": level,
            "logger": "agent",
            "service": "agent",
            "message": f"{level} line",
            "run_id": run["id"],
            "request_id": "req-logs-1",
        }
        for level in ("debug", "info", "error")
    ]
    api.post("/events/batch", json={"events": events})
    by_run = api.get("/logs", params={"run_id": run["id"]}).json()["items"]
    assert [r["level"] for r in by_run] == ["debug", "info", "error"]
    errors = api.get("/logs", params={"run_id": run["id"], "level": "warning"}).json()["items"]
    assert [r["message"] for r in errors] == ["error line"]
    by_request = api.get("/logs", params={"request_id": "req-logs-1"}).json()["items"]
    assert len(by_request) == 3


def test_logs_reject_naive_times(api: TestClient) -> None:
    """Time filters need a timezone: a naive time is ambiguous and refused."""
    assert api.get("/logs", params={"since": "2026-01-01T00:00:00"}).status_code == 422
    assert api.get("/logs", params={"since": "2026-01-01T00:00:00Z"}).status_code == 200


def test_workflow_transitions(api: TestClient) -> None:
    """A workflow moves through phases, lists by status, and refuses moves once final."""
    created = api.post(
        "/workflows",
        json={"correlation_id": "order-7", "workflow_type": "refund", "phase": "intake"},
    )
    assert created.status_code == 201, created.text
    wf = created.json()
    moved = api.post(
        f"/workflows/{wf['id']}/transitions", json={"phase": "review", "status": "running"}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["phase"], moved.json()["status"]) == ("review", "running")
    listed = api.get("/workflows", params={"status": "running"}).json()["items"]
    assert [w["id"] for w in listed] == [wf["id"]]
    done = api.post(f"/workflows/{wf['id']}/transitions", json={"status": "succeeded"})
    assert done.status_code == 200
    late = api.post(f"/workflows/{wf['id']}/transitions", json={"phase": "again"})
    assert late.status_code == 409
    history = api.get(f"/workflows/{wf['id']}/transitions").json()
    assert [h["to_status"] for h in history] == ["pending", "running", "succeeded"]


def test_creates_and_transitions_under_an_idempotency_key(api: TestClient) -> None:
    """``Idempotency-Key`` becomes the record's id: a repeated create answers 200 with the
    record as stored, a repeated transition adds no history entry; a malformed key is a 422
    with the request id, and a run's key of another project a 409."""
    run_key, workflow_key, move_key = (str(uuid.uuid4()) for _ in range(3))
    run = {"name": "agent", "agent": "temporal:q", "project_id": "p1"}
    first = api.post("/runs", json=run, headers={"Idempotency-Key": run_key})
    assert (first.status_code, first.json()["id"]) == (201, run_key)
    again = api.post("/runs", json=run, headers={"Idempotency-Key": run_key})
    assert again.status_code == 200
    assert again.json() == first.json()
    keyed = {"Idempotency-Key": run_key}
    other = api.post("/runs", json={**run, "project_id": "p2"}, headers=keyed)
    assert other.status_code == 409
    workflow = {"correlation_id": "wf:run", "workflow_type": "agent", "phase": "started"}
    created = api.post("/workflows", json=workflow, headers={"Idempotency-Key": workflow_key})
    assert (created.status_code, created.json()["id"]) == (201, workflow_key)
    path = f"/workflows/{workflow_key}/transitions"
    for _ in range(2):
        moved = api.post(path, json={"status": "running"}, headers={"Idempotency-Key": move_key})
        assert moved.status_code == 200
    repeated = api.post("/workflows", json=workflow, headers={"Idempotency-Key": workflow_key})
    assert (repeated.status_code, repeated.json()["status"]) == (200, "running")
    assert [t["id"] for t in api.get(path).json()][1:] == [move_key]
    bad = api.post("/workflows", json=workflow, headers={"Idempotency-Key": "not-a-uuid"})
    assert bad.status_code == 422
    assert bad.json()["request_id"]


def test_measurements_query_and_percentiles(api: TestClient) -> None:
    """Points are queried by name and label; p50/p99 come back over a window."""
    points = [
        {
            "name": "latency_ms",
            "value": float(v),
            "kind": "histogram",
            "labels": {"tool": "search" if v % 2 else "fetch"},
        }
        for v in range(1, 101)
    ]
    assert api.post("/measurements", json={"points": points}).json() == {"recorded": 100}
    search = api.get(
        "/measurements", params={"name": "latency_ms", "label": "tool=search", "limit": 500}
    ).json()["items"]
    assert len(search) == 50
    p50 = api.get(
        "/measurements/percentile", params={"name": "latency_ms", "q": "0.5", "window_seconds": 600}
    ).json()
    assert p50["value"] == 50.5
    p99 = api.get(
        "/measurements/percentile",
        params={"name": "latency_ms", "q": "0.99", "window_seconds": 600},
    ).json()
    assert abs(p99["value"] - 99.01) < 1e-6
    empty = api.get("/measurements/percentile", params={"name": "nothing", "q": "0.95"}).json()
    assert empty["value"] is None
    assert api.get("/measurements", params={"name": "x", "label": "novalue"}).status_code == 422
    # Found by the contract fuzzer: the instant is in year 0 once converted to UTC, valid
    # RFC 3339 all the same. Since then: everything (nothing is stored before year 1).
    early = api.get("/measurements", params={"name": "x", "since": "0001-01-01T00:00:00+00:01"})
    assert early.status_code == 200, early.text
    everything = api.get("/measurements", params={"name": "x"})
    assert early.json()["items"] == everything.json()["items"]
    late = api.get("/measurements", params={"name": "x", "until": "9999-12-31T23:59:59-00:01"})
    assert late.status_code == 200, late.text
    assert late.json()["items"] == everything.json()["items"]
    after_all = api.get("/measurements", params={"name": "x", "since": "9999-12-31T23:59:59-00:01"})
    assert after_all.status_code == 200, after_all.text
    assert after_all.json()["items"] == []
