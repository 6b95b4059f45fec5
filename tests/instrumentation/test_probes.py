"""Health probes: liveness, readiness with timed checks, start-up gating."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

import vigil
from vigil import HealthProbes


def make_client() -> tuple[TestClient, HealthProbes]:
    app = FastAPI()
    instrumentation = vigil.instrument(
        app, service="svc", registry=CollectorRegistry(), configure_logs=False
    )
    return TestClient(app), instrumentation.probes


def test_startup_is_503_until_lifespan_and_tasks_are_done() -> None:
    """Start-up answers 503 before the lifespan ran and while a registered task is pending."""
    client, probes = make_client()
    assert client.get("/health/startup").status_code == 503  # no lifespan yet
    probes.add_startup_task("migrations")
    with client:
        response = client.get("/health/startup")
        assert response.status_code == 503
        assert response.json()["pending"] == ["migrations"]
        assert client.get("/health/ready").status_code == 503
        probes.startup_task_done("migrations")
        assert client.get("/health/startup").json() == {"status": "started"}
        assert client.get("/health/ready").status_code == 200


def test_live_checks_nothing_but_the_process() -> None:
    """Liveness stays 200 even when a dependency is down."""
    client, probes = make_client()

    def down() -> None:
        raise ConnectionError("db down")

    probes.add_readiness_check("db", down)
    with client:
        assert client.get("/health/live").json() == {"status": "alive"}


def test_ready_reports_each_check() -> None:
    """A failing check makes readiness 503 and says which one failed and why."""
    client, probes = make_client()

    async def ok() -> None:
        await asyncio.sleep(0)

    def failing() -> None:
        raise ConnectionError("refused by postgresql://u:secretpw@db/x")

    probes.add_readiness_check("cache", ok)
    probes.add_readiness_check("db", failing)
    with client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["cache"]["status"] == "ok"
    assert body["checks"]["db"]["status"] == "fail"
    assert body["checks"]["db"]["error"].startswith("ConnectionError")
    assert "secretpw" not in response.text


@pytest.mark.parametrize("blocking", [True, False])
def test_slow_checks_time_out(blocking: bool) -> None:
    """A hanging dependency fails its check at the timeout instead of hanging the probe."""
    client, probes = make_client()

    def slow_sync() -> None:
        time.sleep(1.0)

    async def slow_async() -> None:
        await asyncio.sleep(1.0)

    probes.add_readiness_check("slow", slow_sync if blocking else slow_async, timeout_s=0.1)
    with client:
        started = time.monotonic()
        response = client.get("/health/ready")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "timed out" in response.json()["checks"]["slow"]["error"]
    assert elapsed < 0.9
