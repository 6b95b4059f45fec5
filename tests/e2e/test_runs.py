"""A run and its steps, created through the live controller's API, read back as written."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_run_with_steps_is_readable_back(controller: httpx.Client) -> None:
    name = f"e2e-run-{uuid.uuid4().hex[:12]}"
    created = controller.post(
        "/runs", json={"name": name, "agent": "e2e-agent", "project_id": "e2e"}
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["name"], run["agent"], run["project_id"]) == (name, "e2e-agent", "e2e")

    request_id = f"e2e-{uuid.uuid4().hex}"
    steps = [
        {"step_type": "thought", "name": "plan", "data": {"text": "find the forecast"}},
        {"step_type": "tool_call", "name": "weather", "data": {"city": "Oslo"}},
    ]
    appended = controller.post(
        f"/runs/{run['id']}/steps", json={"steps": steps}, headers={"X-Request-Id": request_id}
    )
    assert appended.status_code == 201, appended.text
    assert [s["name"] for s in appended.json()["items"]] == ["plan", "weather"]

    fetched = controller.get(f"/runs/{run['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == run["id"]
    assert fetched.json()["name"] == name

    listed = controller.get(f"/runs/{run['id']}/steps")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(s["step_type"], s["name"], s["data"]) for s in items] == [
        (s["step_type"], s["name"], s["data"]) for s in steps
    ]
    assert [s["seq"] for s in items] == sorted(s["seq"] for s in items)
    assert {s["run_id"] for s in items} == {run["id"]}
    assert {s["request_id"] for s in items} == {request_id}, "steps carry the request's id"
