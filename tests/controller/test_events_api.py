"""Batched ingestion over HTTP: mixed events in one transaction, all or nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from tests.controller.test_runs_api import create_run
from vigil.controller import event_batch
from vigil.controller.event_batch import EventBatch
from vigil.models import StepRecord
from vigil.models._step_documents import step_record_of


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
    assert response.json() == {
        "steps": 10,
        "logs": 1,
        "measurements": 1,
        "spans": 0,
        "runs_started": 0,
        "runs_finished": 0,
    }
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


def _steps(run_id: object, count: int) -> dict[str, object]:
    return {
        "events": [
            {"event": "step", "run_id": run_id, "step_type": "thought", "name": f"s{n}"}
            for n in range(count)
        ]
    }


def test_a_batch_posted_twice_with_one_idempotency_key_is_stored_once(api: TestClient) -> None:
    """The retry of a batch whose answer was lost: same key, stored once, same answer; a
    batch posted twice without a key is stored twice (what the key prevents)."""
    run = create_run(api)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/events/batch", json=_steps(run["id"], 3), headers=key)
    again = api.post("/events/batch", json=_steps(run["id"], 3), headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert (
        first.json()
        == again.json()
        == {
            "steps": 3,
            "logs": 0,
            "measurements": 0,
            "spans": 0,
            "runs_started": 0,
            "runs_finished": 0,
        }
    )
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 3

    for _ in range(2):
        assert api.post("/events/batch", json=_steps(run["id"], 3)).status_code == 202
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 9


def test_a_malformed_idempotency_key_is_a_422_with_the_request_id(api: TestClient) -> None:
    """A key that is not a UUID refuses the batch (nothing stored) in the usual error shape."""
    run = create_run(api)
    response = api.post(
        "/events/batch", json=_steps(run["id"], 2), headers={"Idempotency-Key": "retry-1"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "retry-1" not in response.text
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 0


def test_the_idempotency_key_is_documented(api: TestClient) -> None:
    """OpenAPI lists the optional header, as a UUID, with the 422 it can cause."""
    operation = api.get("/openapi.json").json()["paths"]["/events/batch"]["post"]
    (parameter,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert parameter["name"] == "Idempotency-Key"
    assert parameter["required"] is False
    assert (parameter["schema"]["type"], parameter["schema"]["format"]) == ("string", "uuid")
    assert "anyOf" not in parameter["schema"]  # never null: a header is a string or absent
    assert "retry" in parameter["description"]
    assert "422" in operation["responses"]


def test_a_batch_starts_and_finishes_a_run(api: TestClient) -> None:
    """A run whose id the client made starts, gets steps and finishes in one batch."""
    run_id = str(uuid.uuid4())
    events = [
        {"event": "run_start", "id": run_id, "name": "triage", "agent": "support",
         "project_id": "p1"},
        {"event": "step", "run_id": run_id, "step_type": "graph_node", "name": "planner"},
        {"event": "run_finish", "run_id": run_id, "status": "failed"},
    ]  # fmt: skip
    response = api.post("/events/batch", json={"events": events})
    assert response.status_code == 202, response.text
    assert (response.json()["runs_started"], response.json()["runs_finished"]) == (1, 1)
    run = api.get(f"/runs/{run_id}").json()
    assert (run["status"], run["step_count"], run["agent"]) == ("failed", 1, "support")


def test_run_events_are_recognised_without_their_kind(api: TestClient) -> None:
    """``event`` has a default: a start is told by ``agent``, a finish by ``status``."""
    run_id = str(uuid.uuid4())
    start = {"id": run_id, "name": "r", "agent": "a", "project_id": "p1"}
    finish = {"run_id": run_id, "status": "succeeded"}
    response = api.post("/events/batch", json={"events": [start, finish]})
    assert response.status_code == 202, response.text
    assert api.get(f"/runs/{run_id}").json()["status"] == "succeeded"


def test_a_run_start_refuses_running_as_a_finish(api: TestClient) -> None:
    run_id = str(uuid.uuid4())
    events = [{"event": "run_finish", "run_id": run_id, "status": "running"}]
    response = api.post("/events/batch", json={"events": events})
    assert response.status_code == 422
    assert "request_id" in response.json() or response.headers.get("x-request-id")


def _stored_steps(api: TestClient, run_id: object) -> list[dict[str, object]]:
    page = api.get(f"/runs/{run_id}/steps").json()
    return [
        {key: value for key, value in step.items() if key not in ("id", "run_id")}
        for step in page["items"]
    ]


def test_steps_taken_without_their_model_are_stored_as_the_model_stores_them(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plainly valid steps skip the StepEvent model (``IngestBatch``); the same steps with
    their kind left out (inferred) go through it. Both store the very same steps."""
    documents = [
        {"step_type": "tool_call", "name": "search", "data": {"q": "refund", "n": 3, "f": 1.5}},
        {"step_type": "thought", "name": "é" * 200, "request_id": "req-1", "data": {}},
        {
            "step_type": "llm_generation",
            "name": "answer",
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "created_at": "2026-12-01T20:15:00.123456Z",
            "data": {"nested": [1, None, {"x": True}], "big": 2**62},
        },
        {"step_type": "message", "name": "m", "created_at": "2026-12-01T20:15:01+00:00",
         "artifact_ids": []},
        {"step_type": "error", "name": "nul", "data": {"text": "a\u0000b"}},  # model-repaired
    ]  # fmt: skip
    taken: list[StepRecord] = []

    def counted(document: object, known: dict[str, uuid.UUID]) -> StepRecord | None:
        record = step_record_of(document, known)
        if record is not None:
            taken.append(record)
        return record

    monkeypatch.setattr(event_batch, "step_record_of", counted)
    fast_run, model_run = create_run(api), create_run(api)
    fast = [{"event": "step", "run_id": fast_run["id"], **d} for d in documents]
    model = [{"run_id": model_run["id"], **d} for d in documents]
    for events, fast_ones in ((fast, len(documents) - 1), (model, 0)):
        taken.clear()
        response = api.post("/events/batch", json={"events": events})
        assert response.status_code == 202, response.text
        assert response.json()["steps"] == len(documents)
        assert len(taken) == fast_ones  # the U+0000 step is the model's to repair
    fast_steps, model_steps = (
        _stored_steps(api, fast_run["id"]),
        _stored_steps(api, model_run["id"]),
    )
    for step in (*fast_steps[:2], *fast_steps[4:], *model_steps[:2], *model_steps[4:]):
        step.pop("created_at")  # the controller's clock: a moment apart
    assert fast_steps == model_steps
    assert fast_steps[4]["data"] == {"text": "a\ufffdb"}


def test_a_batch_with_one_bad_event_is_refused_with_the_models_errors(api: TestClient) -> None:
    """Good steps and one bad event: a 422 naming the bad event's fields, as the
    EventBatch model words it, and nothing stored."""
    run = create_run(api)
    good = {"event": "step", "run_id": run["id"], "step_type": "thought", "name": "ok"}
    bad_log = {"event": "log", "level": "loud", "logger": "a", "service": "a", "message": "m"}
    bad_step = {**good, "data": {"x": float("inf")}}
    body = {"events": [good, bad_log, good]}
    response = api.post("/events/batch", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {tuple(error["loc"][:3]) for error in detail} == {("body", "events", 1)}
    with pytest.raises(ValidationError) as refused:
        EventBatch.model_validate(body)
    assert [(e["loc"][1:], e["msg"], e["type"]) for e in detail] == [
        (list(e["loc"]), e["msg"], e["type"]) for e in refused.value.errors()
    ]
    # A bad step (here: infinity in its data, which the fast path leaves to the model).
    response = api.post(
        "/events/batch",
        content=json.dumps({"events": [good, bad_step]}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert [e["loc"][:4] for e in response.json()["detail"]] == [["body", "events", 1, "step"]]
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 0


def test_steps_without_a_time_get_the_stores_clock_on_both_paths(api: TestClient) -> None:
    """A step posted without created_at gets the store's time of the write, whichever path
    it took: one batch, one step taken without its model and one through it (a braced run
    id, which only the model reads), the same instant, not before the run's start."""
    run_id = str(uuid.uuid4())
    start = {"event": "run_start", "id": run_id, "name": "r", "agent": "a", "project_id": "p"}
    fast = {"event": "step", "run_id": run_id, "step_type": "thought", "name": "fast"}
    model = {**fast, "run_id": "{" + run_id + "}", "name": "model"}
    response = api.post("/events/batch", json={"events": [start, fast, model]})
    assert response.status_code == 202, response.text
    steps = api.get(f"/runs/{run_id}/steps").json()["items"]
    assert [s["name"] for s in steps] == ["fast", "model"]
    assert steps[0]["created_at"] == steps[1]["created_at"]
    assert steps[0]["created_at"] >= api.get(f"/runs/{run_id}").json()["started_at"]
