"""Housekeeping in the running controller: abandoned runs, retention, readiness that sees a
full disk or a store refusing writes, and reconciliation with Alertmanager (issue 10)."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI, HTTPException, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import make_url
from starlette.testclient import TestClient

from tests.controller.conftest import ControllerData, controller_settings
from tests.sdk.conftest import LiveServer
from vigil.controller import create_app
from vigil.controller.alert_reconciler import AlertReconciler
from vigil.controller.maintenance import Maintenance
from vigil.controller.metrics import ControllerMetrics
from vigil.models import Alert, AlertCreate, AlertStatus, LogCreate, LogLevel, RunCreate, utc_now
from vigil.storage import EventStore
from vigil.storage._sql_base import SqlStoreBase
from vigil.tracing import parse_traceparent, setup_tracing, shutdown_tracing


def test_a_round_abandons_quiet_runs_and_deletes_old_logs(
    store: EventStore, store_url: str, controller_data: ControllerData
) -> None:
    settings = controller_settings(
        store_url, controller_data, run_abandon_after_s=0.001, log_retention_days=1
    )
    metrics = ControllerMetrics(CollectorRegistry())
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    old = utc_now() - timedelta(days=2)
    store.write_batch(
        [LogCreate(level=LogLevel.INFO, logger="l", message="old", service="s", timestamp=old),
         LogCreate(level=LogLevel.INFO, logger="l", message="new", service="s")]
    )  # fmt: skip
    done = Maintenance(store, settings, metrics).run_once()
    assert done == {"abandoned": 1, "logs_deleted": 1, "batch_ids_deleted": 0}
    assert store.get_run(run.id).status == "abandoned"
    assert [r.message for r in store.query_logs().items] == ["new"]
    assert metrics.runs_abandoned._value.get() == 1  # type: ignore[attr-defined]


def test_a_round_under_way_at_shutdown_ends_before_the_store_closes(
    store_url: str, controller_data: ControllerData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding (CI): a maintenance round still running when the lifespan ended was abandoned
    by its cancelled task; the store closed under it and its PostgreSQL connection was left
    to the garbage collector, open (psycopg's ResourceWarning failed an unrelated test).
    Shutdown now waits for the round, and nothing is left open."""
    events: list[str] = []
    run_once = Maintenance.run_once

    def slow_round(self: Maintenance) -> dict[str, int]:
        events.append("round started")
        time.sleep(0.3)
        done = run_once(self)
        events.append("round ended")
        return done

    close = SqlStoreBase.close

    def recorded_close(self: SqlStoreBase) -> None:
        events.append("store closed")
        close(self)

    monkeypatch.setattr(Maintenance, "run_once", slow_round)
    monkeypatch.setattr(SqlStoreBase, "close", recorded_close)
    with TestClient(create_app(controller_settings(store_url, controller_data))) as client:
        assert client.get("/health/live").status_code == 200
        deadline = time.monotonic() + 5
        while "round started" not in events and time.monotonic() < deadline:
            time.sleep(0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert events == ["round started", "round ended", "store closed"]
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_readiness_fails_on_a_full_disk(store_url: str, controller_data: ControllerData) -> None:
    """Finding: SQLite answered 503 to every write on a full disk while /health/ready said 200.
    Below VIGIL_MIN_FREE_DISK_MB free, readiness fails and says where."""
    huge = controller_settings(store_url, controller_data, min_free_disk_mb=1e12)
    with TestClient(create_app(huge)) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["disk"]["status"] == "fail"
    assert "below the minimum" in ready.json()["checks"]["disk"]["error"]
    with TestClient(create_app(controller_settings(store_url, controller_data))) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"store", "store_writes", "disk", "artifacts"}


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_readiness_fails_when_the_store_refuses_writes(
    store_url: str, controller_data: ControllerData
) -> None:
    """A PostgreSQL that only reads (a replica, a database set read-only) answers SELECT 1
    but not the write probe: not ready."""
    with TestClient(create_app(controller_settings(store_url, controller_data))) as client:
        assert client.get("/health/ready").status_code == 200
        url = make_url(store_url)
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
            # New connections take the new default: end the controller's, which its pool
            # replaces (the probes try once more on a connection found dead, _liveness.py).
            # Not engine.dispose(): connections checked out by its
            # background tasks at that moment would be left to the garbage collector, open.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (url.database,),
            )
        ready = client.get("/health/ready").json()
    assert ready["checks"]["store"]["status"] == "ok"
    assert ready["checks"]["store_writes"]["status"] == "fail"
    assert "read-only" in ready["checks"]["store_writes"]["error"]  # not a dead connection
    assert ready["status"] == "not_ready"


def _alert(fingerprint: str) -> AlertCreate:
    return AlertCreate(
        fingerprint=fingerprint,
        status=AlertStatus.FIRING,
        starts_at=utc_now() - timedelta(hours=1),
        labels={"alertname": f"A{fingerprint}"},
    )


def fake_alertmanager(holds: list[str], answers: list[int]) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v2/alerts")
    def alerts(active: str, silenced: str, inhibited: str) -> Any:
        assert (active, silenced, inhibited) == ("true", "true", "true")
        status = answers.pop(0) if answers else 200
        if status != 200:
            raise HTTPException(status, "down")
        return [{"fingerprint": f, "labels": {}} for f in holds]

    return app


def test_reconciliation_resolves_what_alertmanager_forgot(
    store: EventStore, store_url: str, controller_data: ControllerData
) -> None:
    """Over real HTTP: the firing alert Alertmanager still holds stays firing, the other is
    resolved; while Alertmanager errors, nothing is resolved."""
    kept, forgotten = (store.upsert_alerts([_alert(f)])[0] for f in ("aaaa", "bbbb"))
    answers = [503]
    with LiveServer(fake_alertmanager(["aaaa"], answers)) as alertmanager:
        settings = controller_settings(
            store_url,
            controller_data,
            alertmanager_url=alertmanager.url,
            alert_reconcile_interval_s=0.001,
        )
        metrics = ControllerMetrics(CollectorRegistry())
        reconciler = AlertReconciler(store, settings, metrics)

        async def two_rounds() -> list[Alert]:
            assert await reconciler.reconcile_once() == []  # Alertmanager answered 503
            assert store.get_alert(forgotten.id).status is AlertStatus.FIRING
            try:
                return await reconciler.reconcile_once()
            finally:
                await reconciler.aclose()

        resolved = asyncio.run(two_rounds())
    assert [a.id for a in resolved] == [forgotten.id]
    assert store.get_alert(kept.id).status is AlertStatus.FIRING
    assert store.get_alert(forgotten.id).status is AlertStatus.RESOLVED


@pytest.mark.usefixtures("fresh_tracing")
def test_a_reconciliation_round_is_a_span_whose_call_carries_it(
    store: EventStore, store_url: str, controller_data: ControllerData
) -> None:
    """HTTP calls the controller makes propagate traceparent: the call to Alertmanager carries
    the round's span, which the controller stores."""
    seen: list[str | None] = []
    # FastAPI traces itself once a TracerProvider is set (docs/tracing.md): this stand-in for
    # Alertmanager must not add its own spans to the trace.
    app = FastAPI(telemetry={"tracing": False})

    @app.get("/api/v2/alerts")
    async def alerts(request: Request) -> list[dict[str, Any]]:
        seen.append(request.headers.get("traceparent"))
        return []

    setup_tracing("vigil-controller", store=store, langfuse=False)
    with LiveServer(app) as alertmanager:
        settings = controller_settings(
            store_url, controller_data, alertmanager_url=alertmanager.url
        )
        reconciler = AlertReconciler(store, settings, ControllerMetrics(CollectorRegistry()))

        async def one_round() -> None:
            try:
                await reconciler.reconcile_once()
            finally:
                await reconciler.aclose()

        asyncio.run(one_round())
    shutdown_tracing()
    [header] = seen
    assert header is not None
    parsed = parse_traceparent(header)
    assert parsed is not None
    trace_id = format(parsed[0], "032x")
    [span] = store.get_trace(trace_id)
    assert (span.name, span.span_id) == ("alerts.reconcile", format(parsed[1], "016x"))
    assert span.attributes["alerts.resolved"] == 0
