"""The Alertmanager webhook: token, payload validation, dedupe, resolve, acknowledge."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.controller.conftest import WEBHOOK_TOKEN

AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}


def notification(status: str, ends_at: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "vigil"},
        "annotations": {"summary": "5xx above 10%"},
        "startsAt": "2026-11-22T10:00:00.000Z",
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "c0ffee1234567890",
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "vigil-controller",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }


def test_missing_or_wrong_token_is_refused(api: TestClient) -> None:
    """Without the right bearer token nothing is stored."""
    assert api.post("/alerts/webhook", json=notification("firing")).status_code == 401
    wrong = api.post(
        "/alerts/webhook", json=notification("firing"), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    assert "nope" not in wrong.text
    assert api.get("/alerts").json()["items"] == []


def test_firing_then_resolved_is_one_alert(api: TestClient) -> None:
    """Repeated firing notifications and the resolution update one stored alert."""
    for _ in range(3):
        response = api.post("/alerts/webhook", json=notification("firing"), headers=AUTH)
        assert response.status_code == 200, response.text
    firing = api.get("/alerts", params={"status": "firing"}).json()["items"]
    assert len(firing) == 1
    assert firing[0]["severity"] == "critical"
    assert firing[0]["ends_at"] is None
    api.post("/alerts/webhook", json=notification("resolved", "2026-11-22T10:05:00Z"), headers=AUTH)
    assert api.get("/alerts", params={"status": "firing"}).json()["items"] == []
    resolved = api.get("/alerts", params={"status": "resolved"}).json()["items"]
    assert [a["id"] for a in resolved] == [firing[0]["id"]]
    assert resolved[0]["ends_at"].startswith("2026-11-22T10:05:00")


def test_acknowledge_once(api: TestClient) -> None:
    """An alert can be acknowledged once; the second acknowledgement is a 409."""
    stored = api.post("/alerts/webhook", json=notification("firing"), headers=AUTH).json()
    alert_id = stored["alerts"][0]["id"]
    ack = api.post(f"/alerts/{alert_id}/acknowledge", json={"by": "oncall"})
    assert ack.status_code == 200
    assert ack.json()["acknowledged_by"] == "oncall"
    assert api.post(f"/alerts/{alert_id}/acknowledge", json={"by": "x"}).status_code == 409


def test_bad_payloads_are_422(api: TestClient) -> None:
    """Wrong versions, empty alert lists and alerts without a name are refused."""
    body = notification("firing")
    assert (
        api.post("/alerts/webhook", json={**body, "version": "3"}, headers=AUTH).status_code == 422
    )
    assert api.post("/alerts/webhook", json={**body, "alerts": []}, headers=AUTH).status_code == 422
    nameless = notification("firing")
    nameless["alerts"][0]["labels"] = {"severity": "critical"}
    assert api.post("/alerts/webhook", json=nameless, headers=AUTH).status_code == 422
