"""Alerts from Alertmanager's webhook: upserts by episode, listing, acknowledgement."""

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    select,
    update,
)

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    Alert,
    AlertAcknowledge,
    AlertCreate,
    AlertStatus,
    Page,
    new_id,
    utc_now,
)
from vigil.storage._cursor import (
    decode_time_id_cursor,
)
from vigil.storage._schema import (
    alerts as alerts_table,
)
from vigil.storage._sql_base import (
    SqlStoreBase,
    before_key,
    check_limit,
    found,
    page_of,
    to_model,
    unless,
)
from vigil.storage.errors import Conflict


class AlertQueries(SqlStoreBase):
    def upsert_alerts(self, alerts: Sequence[AlertCreate]) -> list[Alert]:
        now = utc_now()
        insert = self._backend.insert(alerts_table)
        resolved = alerts_table.c.status == AlertStatus.RESOLVED.value
        upsert = insert.on_conflict_do_update(
            index_elements=[alerts_table.c.fingerprint, alerts_table.c.starts_at],
            set_={
                # A stale "firing" arriving after "resolved" must not reopen the episode.
                "status": unless(resolved, alerts_table.c.status, insert.excluded.status),
                "ends_at": unless(resolved, alerts_table.c.ends_at, insert.excluded.ends_at),
                "alertname": insert.excluded.alertname,
                "severity": insert.excluded.severity,
                "labels": insert.excluded.labels,
                "annotations": insert.excluded.annotations,
                "generator_url": insert.excluded.generator_url,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(*alerts_table.c)
        stored: list[Alert] = []
        with self._write() as conn:
            for alert in alerts:
                episode = conn.execute(
                    # The open episode of this alert, if it started before: after a Prometheus
                    # or Alertmanager restart the same alert comes back with a later startsAt,
                    # and must update that record instead of opening a second one (issue 10).
                    select(alerts_table.c.id)
                    .where(
                        alerts_table.c.fingerprint == alert.fingerprint,
                        alerts_table.c.status == AlertStatus.FIRING.value,
                        alerts_table.c.starts_at < alert.starts_at,
                    )
                    .order_by(alerts_table.c.starts_at.desc())
                    .limit(1)
                    .with_for_update()
                ).scalar()
                if episode is not None:
                    row = conn.execute(
                        update(alerts_table)
                        .where(alerts_table.c.id == episode)
                        .values(
                            status=alert.status.value,
                            ends_at=alert.ends_at,
                            alertname=alert.alertname,
                            severity=alert.severity,
                            labels=alert.labels,
                            annotations=alert.annotations,
                            generator_url=alert.generator_url,
                            updated_at=now,
                        )
                        .returning(*alerts_table.c)
                    ).one()
                    stored.append(to_model(Alert, row))
                    continue
                row = conn.execute(
                    upsert,
                    {
                        "id": new_id(),
                        "fingerprint": alert.fingerprint,
                        "status": alert.status.value,
                        "alertname": alert.alertname,
                        "severity": alert.severity,
                        "starts_at": alert.starts_at,
                        "ends_at": alert.ends_at,
                        "labels": alert.labels,
                        "annotations": alert.annotations,
                        "generator_url": alert.generator_url,
                        "received_at": now,
                        "updated_at": now,
                        "acknowledged_at": None,
                        "acknowledged_by": None,
                    },
                ).one()
                stored.append(to_model(Alert, row))
        return stored

    def resolve_alerts_missing_from(
        self, active: Collection[str], updated_before: datetime
    ) -> list[Alert]:
        now = utc_now()
        with self._write() as conn:
            rows = conn.execute(
                update(alerts_table)
                .where(
                    alerts_table.c.status == AlertStatus.FIRING.value,
                    alerts_table.c.updated_at < updated_before,
                    alerts_table.c.fingerprint.not_in(list(active)),
                )
                .values(status=AlertStatus.RESOLVED.value, ends_at=now, updated_at=now)
                .returning(*alerts_table.c)
            ).all()
        return [to_model(Alert, row) for row in rows]

    def list_alerts(
        self,
        *,
        status: AlertStatus | None = None,
        severity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Alert]:
        check_limit(limit)
        query = (
            select(alerts_table)
            .order_by(alerts_table.c.starts_at.desc(), alerts_table.c.id.desc())
            .limit(limit + 1)
        )
        if status is not None:
            query = query.where(alerts_table.c.status == status.value)
        if severity is not None:
            query = query.where(alerts_table.c.severity == severity)
        if since is not None:
            query = query.where(alerts_table.c.starts_at >= since)
        if until is not None:
            query = query.where(alerts_table.c.starts_at < until)
        if cursor is not None:
            before = decode_time_id_cursor("alerts", cursor)
            query = query.where(before_key(alerts_table.c.starts_at, alerts_table.c.id, before))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return page_of(Alert, rows, limit, "alerts", lambda alert: (alert.starts_at, alert.id))

    def get_alert(self, alert_id: UUID) -> Alert:
        with self._read() as conn:
            row = conn.execute(select(alerts_table).where(alerts_table.c.id == alert_id)).first()
        return to_model(Alert, found(row, "alert", alert_id))

    def acknowledge_alert(self, alert_id: UUID, ack: AlertAcknowledge) -> Alert:
        with self._write() as conn:
            row = conn.execute(
                update(alerts_table)
                .where(alerts_table.c.id == alert_id, alerts_table.c.acknowledged_at.is_(None))
                .values(acknowledged_at=utc_now(), acknowledged_by=ack.by)
                .returning(*alerts_table.c)
            ).first()
            if row is None:
                acknowledged = found(
                    conn.execute(
                        select(alerts_table.c.acknowledged_by).where(alerts_table.c.id == alert_id)
                    ).first(),
                    "alert",
                    alert_id,
                )
                raise Conflict(
                    f"alert {alert_id} was already acknowledged by {acknowledged.acknowledged_by}"
                )
        return to_model(Alert, row)
