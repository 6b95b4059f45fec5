"""Runs and steps through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from tests.controller.conftest import ControllerData, controller_settings
from vigil.controller import create_app

RUN = {"name": "triage ticket 42", "agent": "support-bot", "project_id": "proj-a"}


def create_run(api: TestClient, **overrides: object) -> dict[str, object]:
    response = api.post("/runs", json={**RUN, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_run_lifecycle(api: TestClient) -> None:
    """A run is created running, read back, finished once; a second finish is a 409."""
    run = create_run(api, metadata={"ticket": 42})
    assert run["status"] == "running"
    assert api.get(f"/runs/{run['id']}").json() == run
    finished = api.post(f"/runs/{run['id']}/finish", json={"status": "succeeded"})
    assert finished.status_code == 200
    assert finished.json()["status"] == "succeeded"
    assert finished.json()["finished_at"] is not None
    again = api.post(f"/runs/{run['id']}/finish", json={"status": "failed"})
    assert again.status_code == 409
    assert again.json()["request_id"] == again.headers["x-request-id"]


def test_steps_one_at_a_time_and_in_batches(api: TestClient) -> None:
    """Steps get consecutive seq numbers across single and batched appends, and the request
    id of the call that stored them."""
    run = create_run(api)
    one = api.post(
        f"/runs/{run['id']}/steps",
        json={"steps": [{"step_type": "thought", "name": "plan", "data": {"text": "hmm"}}]},
        headers={"X-Request-Id": "req-steps-1"},
    )
    assert one.status_code == 201
    assert one.json()["items"][0]["request_id"] == "req-steps-1"
    batch = [
        {"step_type": "tool_call", "name": "search", "data": {"q": "refund"}},
        {"step_type": "tool_result", "name": "search", "data": {"hits": 3}},
        {"step_type": "llm_generation", "name": "answer", "data": {"tokens": 120}},
    ]
    many = api.post(f"/runs/{run['id']}/steps", json={"steps": batch})
    assert [s["seq"] for s in many.json()["items"]] == [2, 3, 4]
    listed = api.get(f"/runs/{run['id']}/steps").json()
    assert [s["step_type"] for s in listed["items"]] == [
        "thought",
        "tool_call",
        "tool_result",
        "llm_generation",
    ]
    page = api.get(f"/runs/{run['id']}/steps", params={"after_seq": 2, "limit": 1}).json()
    assert [s["seq"] for s in page["items"]] == [3]
    assert page["next_after_seq"] == 3
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 4
    # Stored with it too; a step naming its own request id keeps it.
    assert listed["items"][0]["request_id"] == "req-steps-1"
    assert listed["items"][1]["request_id"] == many.headers["x-request-id"]
    own = api.post(
        f"/runs/{run['id']}/steps",
        json={"steps": [{"step_type": "thought", "name": "mine", "request_id": "agent-req-7"}]},
    )
    assert own.json()["items"][0]["request_id"] == "agent-req-7"
    assert api.get(f"/runs/{run['id']}/steps").json()["items"][4]["request_id"] == "agent-req-7"


def test_list_runs_paginates_with_a_cursor(api: TestClient) -> None:
    """Listing walks every run exactly once, newest first, page by page."""
    created = [create_run(api, name=f"run {n}")["id"] for n in range(5)]
    seen: list[object] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2, "project_id": "proj-a"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/runs", params=params).json()
        seen.extend(r["id"] for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_bad_inputs_are_4xx(api: TestClient) -> None:
    """Unknown runs, wrong step types, bad cursors, bad ids and oversized data are client
    errors with the request id; nothing is stored by a refused call."""
    run = create_run(api)
    unknown = api.get(f"/runs/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert unknown.json()["request_id"]
    assert (
        api.post(
            f"/runs/{uuid.uuid4()}/steps", json={"steps": [{"step_type": "thought", "name": "x"}]}
        ).status_code
        == 404
    )
    wrong_type = api.post(
        f"/runs/{run['id']}/steps", json={"steps": [{"step_type": "telepathy", "name": "x"}]}
    )
    assert wrong_type.status_code == 422
    assert api.get("/runs", params={"cursor": "not-a-cursor"}).status_code == 400
    assert api.get("/runs/not-a-uuid").status_code == 422
    oversized = api.post(
        f"/runs/{run['id']}/steps",
        json={"steps": [{"step_type": "thought", "name": "big", "data": {"x": "a" * 70_000}}]},
    )
    assert oversized.status_code == 422
    assert api.post("/runs", json={**RUN, "project_id": "has spaces"}).status_code == 422
    assert api.get(f"/runs/{run['id']}").json()["step_count"] == 0


def test_body_over_the_limit_is_413(api: TestClient) -> None:
    """A request body above the controller's cap is refused before parsing."""
    response = api.post(
        "/runs",
        content=b"{" + b" " * (17 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_finished_run_refuses_api_steps(api: TestClient) -> None:
    """Appending to an ended run through the API is a 409 (the SDK batch path accepts late
    steps, see test_events_api)."""
    run = create_run(api)
    api.post(f"/runs/{run['id']}/finish", json={"status": "cancelled"})
    response = api.post(
        f"/runs/{run['id']}/steps", json={"steps": [{"step_type": "thought", "name": "late"}]}
    )
    assert response.status_code == 409


def test_runs_survive_a_controller_restart(store_url: str, controller_data: ControllerData) -> None:
    """What one controller stored, the next one on the same database reads (the embedded
    SQLite default included)."""
    settings = controller_settings(store_url, controller_data)
    headers = controller_data.headers
    with TestClient(create_app(settings), headers=headers) as first:
        run = create_run(first)
        first.post(
            f"/runs/{run['id']}/steps", json={"steps": [{"step_type": "thought", "name": "a"}]}
        )
    with TestClient(create_app(settings), headers=headers) as second:
        assert second.get(f"/runs/{run['id']}").json()["step_count"] == 1
