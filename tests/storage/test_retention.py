"""Housekeeping in the store: batched retention deletes, abandoned runs, the write probe,
alert episodes that survive restarts, and alerts Alertmanager no longer holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.models import (
    AlertCreate,
    AlertStatus,
    LogCreate,
    LogLevel,
    RunCreate,
    RunFinish,
    RunStatus,
    StepCreate,
    StepType,
    utc_now,
)
from vigil.storage import EventStore


def _log(at: datetime, message: str) -> LogCreate:
    return LogCreate(level=LogLevel.INFO, logger="l", message=message, service="s", timestamp=at)


def test_old_logs_are_deleted_in_batches(store: EventStore) -> None:
    now = utc_now()
    old = [_log(now - timedelta(days=30, seconds=n), f"old-{n}") for n in range(25)]
    store.write_batch([*old, _log(now, "fresh")])
    cutoff = now - timedelta(days=14)
    assert store.delete_logs_before(cutoff, limit=10) == 10
    assert store.delete_logs_before(cutoff, limit=10) == 10
    assert store.delete_logs_before(cutoff, limit=10) == 5
    assert store.delete_logs_before(cutoff, limit=10) == 0
    assert [r.message for r in store.query_logs().items] == ["fresh"]


def test_quiet_runs_are_abandoned_and_busy_ones_kept(store: EventStore) -> None:
    quiet = store.create_run(RunCreate(name="quiet", agent="a", project_id="p"))
    busy = store.create_run(RunCreate(name="busy", agent="a", project_id="p"))
    finished = store.create_run(RunCreate(name="done", agent="a", project_id="p"))
    store.finish_run(finished.id, RunFinish(status=RunStatus.SUCCEEDED))
    cutoff = utc_now()
    store.append_steps(busy.id, [StepCreate(step_type=StepType.THOUGHT, name="still here")])
    abandoned = store.abandon_idle_runs(cutoff)
    assert [run.id for run in abandoned] == [quiet.id]
    assert store.get_run(quiet.id).status is RunStatus.ABANDONED
    assert store.get_run(quiet.id).finished_at is not None
    assert store.get_run(busy.id).status is RunStatus.RUNNING
    assert store.get_run(busy.id).last_activity_at > cutoff
    assert store.get_run(finished.id).status is RunStatus.SUCCEEDED


def test_the_write_probe_commits(store: EventStore) -> None:
    store.write_probe()  # raises StoreUnavailable when the store refuses writes


def _alert(status: AlertStatus, starts_at: datetime) -> AlertCreate:
    return AlertCreate(
        fingerprint="a1b2c3d4e5f60718",
        status=status,
        starts_at=starts_at,
        labels={"alertname": "HighErrorRate", "severity": "critical"},
    )


def test_an_alert_sent_again_after_a_restart_updates_its_episode(store: EventStore) -> None:
    """Finding: after a Prometheus or Alertmanager restart the same alert came back with a new
    startsAt and became a second record, the first staying firing forever. It updates the
    open episode now; a late resolve of an older episode does not touch a newer one."""
    first = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    (opened,) = store.upsert_alerts([_alert(AlertStatus.FIRING, first)])
    (again,) = store.upsert_alerts([_alert(AlertStatus.FIRING, first + timedelta(minutes=7))])
    assert again.id == opened.id
    assert again.starts_at == first
    (resolved,) = store.upsert_alerts([_alert(AlertStatus.RESOLVED, first + timedelta(minutes=7))])
    assert (resolved.id, resolved.status) == (opened.id, AlertStatus.RESOLVED)
    later = first + timedelta(hours=1)
    (second,) = store.upsert_alerts([_alert(AlertStatus.FIRING, later)])
    assert second.id != opened.id
    (stale,) = store.upsert_alerts([_alert(AlertStatus.RESOLVED, first)])
    assert stale.id == opened.id
    assert store.get_alert(second.id).status is AlertStatus.FIRING
    assert len(store.list_alerts().items) == 2


def test_firing_alerts_alertmanager_forgot_are_resolved(store: EventStore) -> None:
    now = utc_now()
    (kept,) = store.upsert_alerts([_alert(AlertStatus.FIRING, now - timedelta(hours=1))])
    other = AlertCreate(
        fingerprint="ffff000011112222",
        status=AlertStatus.FIRING,
        starts_at=now - timedelta(hours=1),
        labels={"alertname": "ControllerDown"},
    )
    (forgotten,) = store.upsert_alerts([other])
    assert store.resolve_alerts_missing_from({kept.fingerprint}, now - timedelta(hours=1)) == []
    resolved = store.resolve_alerts_missing_from({kept.fingerprint}, utc_now())
    assert [a.id for a in resolved] == [forgotten.id]
    assert resolved[0].status is AlertStatus.RESOLVED
    assert store.get_alert(kept.id).status is AlertStatus.FIRING
