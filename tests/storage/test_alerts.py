"""Alerts from Alertmanager: one row per firing episode, resolved in place, acknowledged once."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigil.models import AlertAcknowledge, AlertCreate, AlertStatus
from vigil.storage import Conflict, EventStore, NotFound

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _alert(
    status: str = "firing",
    fingerprint: str = "1a2b3c4d5e6f7a8b",
    starts_at: datetime = T0,
    severity: str = "critical",
    **extra: object,
) -> AlertCreate:
    """An alert as Alertmanager's webhook sends it (camelCase, zero time for no end)."""
    return AlertCreate.model_validate(
        {
            "status": status,
            "fingerprint": fingerprint,
            "labels": {"alertname": "HighErrorRate", "severity": severity, "service": "api"},
            "annotations": {"summary": "5xx above 5%"},
            "startsAt": starts_at.isoformat(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
            **extra,
        }
    )


def test_repeated_notifications_update_one_row(store: EventStore) -> None:
    (first,) = store.upsert_alerts([_alert()])
    (again,) = store.upsert_alerts([_alert(annotations={"summary": "5xx above 10%"})])

    assert again.id == first.id
    assert again.annotations == {"summary": "5xx above 10%"}
    assert again.received_at == first.received_at
    assert again.updated_at >= first.updated_at
    assert (first.alertname, first.severity, first.status) == (
        "HighErrorRate",
        "critical",
        AlertStatus.FIRING,
    )
    assert first.ends_at is None
    assert len(store.list_alerts().items) == 1


def test_resolved_notification_resolves_the_firing_row(store: EventStore) -> None:
    (firing,) = store.upsert_alerts([_alert()])
    ended = T0 + timedelta(minutes=7)
    (resolved,) = store.upsert_alerts([_alert("resolved", endsAt=ended.isoformat())])

    assert resolved.id == firing.id
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == ended
    # A stale "firing" delivered late does not reopen the episode.
    (stale,) = store.upsert_alerts([_alert("firing")])
    assert (stale.status, stale.ends_at) == (AlertStatus.RESOLVED, ended)


def test_a_new_episode_is_a_new_row(store: EventStore) -> None:
    """Once an episode was resolved, the alert firing again is a new row (while it is still
    firing, a later startsAt is the same episode sent again: tests/storage/test_retention.py)."""
    store.upsert_alerts([_alert()])
    store.upsert_alerts([_alert("resolved", endsAt=(T0 + timedelta(minutes=5)).isoformat())])
    store.upsert_alerts([_alert(starts_at=T0 + timedelta(hours=1))])
    assert len(store.list_alerts().items) == 2


def test_list_filters_and_pages(store: EventStore) -> None:
    store.upsert_alerts(
        [
            _alert(fingerprint="aa", starts_at=T0, severity="warning"),
            _alert(fingerprint="bb", starts_at=T0 + timedelta(minutes=1)),
            _alert(fingerprint="cc", starts_at=T0 + timedelta(minutes=2)),
        ]
    )
    store.upsert_alerts([_alert("resolved", fingerprint="cc", starts_at=T0 + timedelta(minutes=2))])

    def fingerprints(**kwargs: object) -> list[str]:
        return [a.fingerprint for a in store.list_alerts(**kwargs).items]  # type: ignore[arg-type]

    assert fingerprints() == ["cc", "bb", "aa"]
    assert fingerprints(status=AlertStatus.FIRING) == ["bb", "aa"]
    assert fingerprints(severity="warning") == ["aa"]
    assert fingerprints(since=T0 + timedelta(minutes=1)) == ["cc", "bb"]
    assert fingerprints(until=T0 + timedelta(minutes=1)) == ["aa"]
    page = store.list_alerts(limit=2)
    rest = store.list_alerts(limit=2, cursor=page.next_cursor)
    assert [a.fingerprint for a in page.items + rest.items] == ["cc", "bb", "aa"]


def test_acknowledge_once(store: EventStore) -> None:
    (alert,) = store.upsert_alerts([_alert()])

    acked = store.acknowledge_alert(alert.id, AlertAcknowledge(by="alice"))

    assert acked.acknowledged_by == "alice"
    assert acked.acknowledged_at is not None
    with pytest.raises(Conflict, match="alice"):
        store.acknowledge_alert(alert.id, AlertAcknowledge(by="bob"))
    # A later notification keeps the acknowledgement.
    (renotified,) = store.upsert_alerts([_alert()])
    assert renotified.acknowledged_by == "alice"
    assert store.get_alert(alert.id) == renotified


def test_unknown_alert(store: EventStore) -> None:
    with pytest.raises(NotFound):
        store.get_alert(uuid.uuid4())
    with pytest.raises(NotFound):
        store.acknowledge_alert(uuid.uuid4(), AlertAcknowledge(by="alice"))
