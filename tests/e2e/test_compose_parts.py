"""The parts of the compose stack the native stack does not have (issue 17): pointed at a
running compose stack with `VIGIL_E2E_*` URLs, the E2E suite also checks them. Each skips,
naming the variable it needs, when it is not given (no Elasticsearch or Grafana runs on the
build machines: quickstart.md says how to run these against `docker compose up`).

    VIGIL_E2E_ELASTICSEARCH_URL   e.g. http://127.0.0.1:9200 (compose publishes none: use
                                  `docker compose ... port` or an SSH tunnel, quickstart.md)
    VIGIL_E2E_GRAFANA_URL         e.g. http://127.0.0.1:3000, with VIGIL_E2E_GRAFANA_USER and
                                  VIGIL_E2E_GRAFANA_PASSWORD (compose.env.example)
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.e2e.polling import wait_for

pytestmark = pytest.mark.e2e

DATASOURCE_UIDS = ("vigil-prometheus", "vigil-elasticsearch", "vigil-postgres")
DASHBOARD_UIDS = ("vigil-controller", "vigil-agent-runs")


def _url(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: no such part to check (the native stack has none)")
    return value.rstrip("/")


@pytest.fixture
def elasticsearch_url() -> str:
    """Asked for before `controller`, so that a missing URL skips before a stack starts."""
    return _url("VIGIL_E2E_ELASTICSEARCH_URL")


def test_a_request_id_is_found_in_elasticsearch(
    elasticsearch_url: str, controller: httpx.Client
) -> None:
    """The seed's "request -> metrics & logs": a request with a known X-Request-Id, then its
    access record in Elasticsearch (shipped by Filebeat), found with the official client."""
    url = elasticsearch_url
    request_id = f"e2e-es-{uuid.uuid4().hex}"
    assert controller.get("/info", headers={"X-Request-Id": request_id}).status_code == 200
    with Elasticsearch(url, request_timeout=10) as client:

        def found() -> dict[str, Any] | None:
            hits = client.search(
                index="vigil-logs-*", query={"term": {"request_id": request_id}}, size=5
            )["hits"]["hits"]
            return hits[0]["_source"] if hits else None

        record = wait_for(f"{request_id} in Elasticsearch", found, timeout_s=120, interval_s=3)
    assert record["route"] == "/info"
    assert record["service"] == "vigil-controller"


def test_grafana_is_healthy_with_its_provisioned_datasources_and_dashboards() -> None:
    url = _url("VIGIL_E2E_GRAFANA_URL")
    auth = (os.environ.get("VIGIL_E2E_GRAFANA_USER", "admin"),
            os.environ.get("VIGIL_E2E_GRAFANA_PASSWORD", ""))  # fmt: skip
    with httpx.Client(base_url=url, auth=auth, timeout=10) as grafana:
        health = grafana.get("/api/health")
        assert health.status_code == 200
        assert health.json()["database"] == "ok"
        for uid in DATASOURCE_UIDS:
            datasource = grafana.get(f"/api/datasources/uid/{uid}")
            assert datasource.status_code == 200, (uid, datasource.text)
            checked = grafana.get(f"/api/datasources/uid/{uid}/health")
            assert checked.json().get("status") == "OK", (uid, checked.text)
        for uid in DASHBOARD_UIDS:
            board = grafana.get(f"/api/dashboards/uid/{uid}")
            assert board.status_code == 200, (uid, board.text)
