"""Batched ingestion over HTTP: mixed events in one transaction, all or nothing."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from tests.controller.test_runs_api import create_run


def test_mixed_batch_is_stored(api: TestClient) -> None:
    """Steps, logs and measurements of one batch are all stored and counted."""
    run = create_run(api)
    events = [
        {"event": "step", "run_id": run["id"], "step_type": "thought", "name": f"s{n}"}
        for n in range(10)
    ]
    events.append(
        {
            "event": "log",
            "level": "info",
            "logger": "agent",
            "service": "agent",
            "message": "hello",
            "run_id": run["id"],
        }
    )
    events.append({"event": "measurement", "name": "tokens", "value": 12.0, "kind": "counter"})
    response = api.post("/events/batch", json={"events": events})
    assert response.status_code == 202, response.text
    assert response.json() == {"steps": 10, "logs": 1, "measurements": 1, "spans": 0}
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 10


def test_batch_with_unknown_run_stores_nothing(api: TestClient) -> None:
    """One bad event refuses the batch (404) and nothing of it is stored."""
    run = create_run(api)
    events = [
        {"event": "step", "run_id": run["id"], "step_type": "thought", "name": "ok"},
        {"event": "step", "run_id": str(uuid.uuid4()), "step_type": "thought", "name": "bad"},
    ]
    assert api.post("/events/batch", json={"events": events}).status_code == 404
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 0


def test_batch_shape_errors_are_422(api: TestClient) -> None:
    """Empty batches, unknown kinds and missing fields are validation errors."""
    assert api.post("/events/batch", json={"events": []}).status_code == 422
    assert api.post("/events/batch", json={"events": [{"event": "nope"}]}).status_code == 422
    assert api.post("/events/batch", json={"events": [{"event": "step"}]}).status_code == 422
