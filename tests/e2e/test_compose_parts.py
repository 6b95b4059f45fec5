"""The parts of the compose stack the native stack does not have (issue 17): pointed at a
running compose stack with `VIGIL_E2E_*` URLs, the E2E suite also checks them. Each skips,
naming the variable it needs, when it is not given (no Elasticsearch or Grafana runs on the
build machines: quickstart.md says how to run these against `docker compose up`).

    VIGIL_E2E_ELASTICSEARCH_URL   e.g. http://127.0.0.1:9200 (compose publishes none: use
                                  `docker compose ... port` or an SSH tunnel, quickstart.md)
    VIGIL_E2E_GRAFANA_URL         e.g. http://127.0.0.1:3000, with VIGIL_E2E_GRAFANA_USER and
                                  VIGIL_E2E_GRAFANA_PASSWORD (compose.env.example)
    VIGIL_E2E_LANGFUSE_URL        e.g. http://127.0.0.1:3001, with VIGIL_E2E_LANGFUSE_PUBLIC_KEY
                                  and VIGIL_E2E_LANGFUSE_SECRET_KEY (the compose stack's project
                                  keys, compose.env.example)
    VIGIL_E2E_S3_URL              the S3 endpoint of the controller's artifacts (compose: MinIO,
                                  e.g. http://127.0.0.1:9000), with VIGIL_E2E_S3_ACCESS_KEY_ID,
                                  VIGIL_E2E_S3_SECRET_ACCESS_KEY and VIGIL_E2E_S3_BUCKET
                                  (default vigil-artifacts). The native stack has an S3
                                  (SeaweedFS): against it this check always runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from elasticsearch import Elasticsearch

from tests.e2e.native_stack import StackUnderTest
from tests.e2e.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

DATASOURCE_UIDS = ("vigil-prometheus", "vigil-elasticsearch", "vigil-postgres")
DASHBOARD_UIDS = ("vigil-controller", "vigil-agent-runs")


def _url(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: no such part to check (the native stack has none)")
    return value.rstrip("/")


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is needed with the URL it goes with", pytrace=False)
    return value


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


@pytest.fixture
def langfuse_env() -> dict[str, str]:
    """The Langfuse SDK's variables for an agent of the stack under test. Asked for before
    `stack_under_test`, so that a missing URL skips before a stack starts."""
    url = _url("VIGIL_E2E_LANGFUSE_URL")
    return {
        "LANGFUSE_BASE_URL": url,
        "LANGFUSE_PUBLIC_KEY": _required("VIGIL_E2E_LANGFUSE_PUBLIC_KEY"),
        "LANGFUSE_SECRET_KEY": _required("VIGIL_E2E_LANGFUSE_SECRET_KEY"),
    }


def run_traced_agent(stack: StackUnderTest, extra_env: dict[str, str]) -> dict[str, str]:
    """Run tests/e2e/traced_agent.py as a separate agent process; its JSON answer."""
    span_name = f"e2e-agent-{uuid.uuid4().hex[:12]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LANGFUSE_")},
        "VIGIL_URL": stack.controller,
        "VIGIL_API_KEY": stack.api_key,
        **extra_env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.traced_agent", span_name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    answer: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_an_agent_runs_trace_is_served_by_the_controller(
    stack_under_test: StackUnderTest, controller: httpx.Client
) -> None:
    """An agent process's span reaches the controller through its SDK and is read back as
    the run's trace, the step recorded inside it carrying the trace id."""
    agent = run_traced_agent(stack_under_test, {})

    def stored() -> dict[str, Any] | None:
        answer = controller.get(f"/runs/{agent['run_id']}/trace")
        return answer.json() if answer.status_code == 200 and answer.json()["traces"] else None

    run_trace = wait_for("the agent's span at the controller", stored, timeout_s=30)
    (tree,) = run_trace["traces"]
    assert tree["trace_id"] == agent["trace_id"]
    assert [root["name"] for root in tree["roots"]] == [agent["span"]]
    steps = controller.get(f"/runs/{agent['run_id']}/steps").json()["items"]
    assert [(s["name"], s["trace_id"]) for s in steps] == [("plan", agent["trace_id"])]


def test_an_agent_runs_trace_is_found_in_langfuse(
    langfuse_env: dict[str, str], stack_under_test: StackUnderTest
) -> None:
    """The issue's "an agent run's trace present in Langfuse through its public API": an
    agent exports its span through the official SDK; the Observations API v2 (Langfuse v4's
    real-time read path) finds it under the trace id Vigil stored."""
    from langfuse import Langfuse

    agent = run_traced_agent(stack_under_test, langfuse_env)
    client = Langfuse(
        public_key=langfuse_env["LANGFUSE_PUBLIC_KEY"],
        secret_key=langfuse_env["LANGFUSE_SECRET_KEY"],
        base_url=langfuse_env["LANGFUSE_BASE_URL"],
        tracing_enabled=False,
    )

    def observed() -> list[Any] | None:
        found = client.api.observations.get_many(trace_id=agent["trace_id"], fields="core,basic")
        return list(found.data) or None

    observations = wait_for("the trace in Langfuse", observed, timeout_s=120, interval_s=3)
    assert [o.name for o in observations] == [agent["span"]]
    assert all(o.trace_id == agent["trace_id"] for o in observations)


def _s3_target(stack: StackUnderTest) -> tuple[str, str, tuple[str, str]]:
    """(endpoint, bucket, (access key id, secret)) of the controller's artifact bucket."""
    native = stack.native
    if native is not None:
        if not native.settings.s3:
            pytest.skip("the native stack under test runs without S3 (--no-s3)")
        return native.seaweedfs.url, native.settings.s3_bucket, native.seaweedfs.credentials()
    url = _url("VIGIL_E2E_S3_URL")
    bucket = os.environ.get("VIGIL_E2E_S3_BUCKET", "vigil-artifacts")
    keys = (_required("VIGIL_E2E_S3_ACCESS_KEY_ID"), _required("VIGIL_E2E_S3_SECRET_ACCESS_KEY"))
    return url, bucket, keys


def test_an_uploaded_artifact_is_in_the_bucket(
    stack_under_test: StackUnderTest, controller: httpx.Client
) -> None:
    """An artifact uploaded through the controller is an object of its bucket (MinIO in
    compose, SeaweedFS natively) with the same bytes, read straight from S3 with boto3."""
    endpoint, bucket, (key_id, secret) = _s3_target(stack_under_test)
    new_run = {"name": "e2e artifact", "agent": "e2e", "project_id": "e2e"}
    run = controller.post("/runs", json=new_run)
    assert run.status_code == 201, run.text
    body = os.urandom(256 * 1024)
    uploaded = controller.post(
        f"/runs/{run.json()['id']}/artifacts",
        files={"file": ("../render.bin", body, "application/octet-stream")},
        data={"kind": "binary", "sha256": hashlib.sha256(body).hexdigest()},
    )
    assert uploaded.status_code == 201, uploaded.text
    record = uploaded.json()
    assert record["name"] == "render.bin"
    prefix = f"s3://{bucket}/"
    assert record["uri"].startswith(prefix), record["uri"]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    stored = s3.get_object(Bucket=bucket, Key=record["uri"].removeprefix(prefix))
    assert stored["ContentLength"] == len(body)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == record["sha256"]
