"""Every dashboard query, run (issue 17): each SQL query of every panel and variable against
the native stack's PostgreSQL as the dashboards' read-only role, each PromQL query against
its live Prometheus, after the test made the data they show. Each must succeed, and return
rows or series.

Grafana cannot run here; these are the queries it would send, with its macros and variables
expanded as its PostgreSQL and Prometheus datasources document them
(tests/grafana_dashboards.py). The Elasticsearch (Lucene) logs panel is not run: no
Elasticsearch here (tests/config/test_grafana.py checks its fields against the template).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.native_stack import StackUnderTest
from tests.e2e.polling import wait_for
from tests.grafana_dashboards import expand_promql, expand_sql, sql_variables, targets

pytestmark = pytest.mark.e2e

PROJECT = f"dash-{uuid.uuid4().hex[:8]}"
AGENT = "dashboard-agent"


@pytest.fixture(scope="module")
def made_data(stack_under_test: StackUnderTest, controller: httpx.Client) -> dict[str, str]:
    """Runs in every state, steps of every kind with a failing tool, step latencies, an
    artifact, a firing alert: something for every panel to show."""
    if stack_under_test.native is None:
        pytest.skip("the dashboards' SQL runs against the native stack's database only")
    run_ids = []
    for status in ("succeeded", "failed", "running"):
        run = controller.post("/runs", json={"name": f"r-{status}", "agent": AGENT,
                                             "project_id": PROJECT}).json()  # fmt: skip
        run_ids.append(run["id"])
        trace = uuid.uuid4().hex
        steps = [
            {"event": "step", "run_id": run["id"], "step_type": kind, "name": name,
             "trace_id": trace}
            for kind, name in (("llm_generation", "planner"), ("tool_call", "search"),
                               ("error", "search"), ("message", "answer"))
        ]  # fmt: skip
        points = [
            {"event": "measurement", "name": "agent_step_duration_seconds", "value": v,
             "kind": "histogram", "labels": {"name": name, "step_type": "tool_call"},
             "project_id": PROJECT}
            for v, name in ((0.12, "search"), (0.4, "planner"))
        ]  # fmt: skip
        assert controller.post("/events/batch", json={"events": steps + points}).status_code == 202
        if status != "running":
            controller.post(f"/runs/{run['id']}/finish", json={"status": status})
    native = stack_under_test.native
    video = controller.post(
        f"/runs/{run_ids[0]}/artifacts",
        files={"file": ("render.mp4", b"\x00" * 1234, "video/mp4")},
        data={"kind": "video"},
    )
    assert video.status_code == 201, video.text
    token = native.layout.webhook_token.read_text().strip()
    notification = {
        "version": "4", "groupKey": "g", "status": "firing", "receiver": "r",
        "alerts": [{"status": "firing", "fingerprint": uuid.uuid4().hex[:16],
                    "startsAt": datetime.now(UTC).isoformat(),
                    "labels": {"alertname": "DashboardDrill", "severity": "warning"},
                    "annotations": {"summary": "made by the dashboard test"}}],
    }  # fmt: skip
    stored = httpx.post(
        f"{stack_under_test.controller}/alerts/webhook",
        json=notification,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert stored.status_code == 200, stored.text
    return {"readonly_url": native.postgres.readonly_url.replace("+psycopg", "")}


def _sql_cases() -> list[tuple[str, str]]:
    cases = [
        (f"{name} panel {panel['id']} ({panel['title']})", target["rawSql"])
        for name, panel, target in targets("grafana-postgresql-datasource")
    ]
    cases += [(f"{name} ${var}", query) for name, var, query in sql_variables(
        "grafana-postgresql-datasource")]  # fmt: skip
    return cases


def _promql_cases() -> list[tuple[str, str]]:
    return [
        (f"{name} panel {panel['id']} {target['refId']} ({panel['title']})", target["expr"])
        for name, panel, target in targets("prometheus")
    ]


SQL_CASES = _sql_cases()
PROMQL_CASES = _promql_cases()


def test_there_are_queries_to_run() -> None:
    assert len(SQL_CASES) >= 10
    assert len(PROMQL_CASES) >= 15


@pytest.mark.parametrize(("where", "query"), SQL_CASES, ids=[w for w, _ in SQL_CASES])
def test_every_sql_query_runs_as_the_readonly_role_and_shows_data(
    made_data: dict[str, str], where: str, query: str
) -> None:
    end = datetime.now(UTC) + timedelta(minutes=5)
    start = end - timedelta(hours=24)
    expanded = expand_sql(query, start, end, {"project": [PROJECT], "agent": [AGENT]})
    with psycopg.connect(made_data["readonly_url"], autocommit=True) as conn:
        user = conn.execute("SELECT current_user").fetchone()
        assert user == ("vigil_readonly",)
        rows = conn.execute(expanded.encode()).fetchall()
    assert rows, f"{where}: no rows\n{expanded}"


@pytest.mark.parametrize(("where", "expr"), PROMQL_CASES, ids=[w for w, _ in PROMQL_CASES])
def test_every_promql_query_runs_on_the_live_prometheus(
    stack_under_test: StackUnderTest, controller: httpx.Client, where: str, expr: str
) -> None:
    """Every panel's PromQL succeeds on the live Prometheus; those about the controller's
    traffic (everything but exception and drop counters the test cannot cause safely) return
    series once Prometheus has scraped the traffic the test made."""
    for _ in range(20):
        controller.get("/runs")
    query = expand_promql(expr, {"service": "vigil-controller", "endpoint": ".*", "level": "*"})

    def answer() -> dict[str, Any] | None:
        response = httpx.get(
            f"{stack_under_test.prometheus}/api/v1/query",
            params={"query": query},
            auth=stack_under_test.prometheus_auth,
            timeout=10,
        )
        body: dict[str, Any] = response.json()
        assert body["status"] == "success", body
        return body if body["data"]["result"] or "unhandled_exceptions" in query else None

    result = wait_for(f"{where} to return series", answer, timeout_s=90, interval_s=2)
    assert result["status"] == "success"
