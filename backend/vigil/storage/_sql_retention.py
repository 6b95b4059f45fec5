"""Retention: batched deletes of old log records and batch ids, and the write probe."""

from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, delete, select, tuple_, update

from vigil.storage._liveness import once_more_if_reconnected
from vigil.storage._schema import ingested_batches, logs
from vigil.storage._sql_base import SqlStoreBase

# Alembic's own table, known here only for the write probe (on a MetaData of its own: the
# schema's tables are compared with the migrations, and this one is Alembic's, not ours).
alembic_version_stub = Table(
    "alembic_version", MetaData(), Column("version_num", String(32), primary_key=True)
)


class RetentionQueries(SqlStoreBase):
    def delete_logs_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        # Batched: one transaction per `limit` rows keeps locks and WAL growth short, and
        # ingestion goes on between the batches. The (timestamp, id) key is the order.
        oldest = (
            select(logs.c.timestamp, logs.c.id)
            .where(logs.c.timestamp < cutoff)
            .order_by(logs.c.timestamp, logs.c.id)
            .limit(limit)
        )
        with self._write() as conn:
            result = conn.execute(
                delete(logs).where(tuple_(logs.c.timestamp, logs.c.id).in_(oldest))
            )
        return int(result.rowcount)

    def delete_batch_ids_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        oldest = (
            select(ingested_batches.c.batch_id)
            .where(ingested_batches.c.received_at < cutoff)
            .limit(limit)
        )
        with self._write() as conn:
            result = conn.execute(
                delete(ingested_batches).where(ingested_batches.c.batch_id.in_(oldest))
            )
        return int(result.rowcount)

    def write_probe(self) -> None:
        # Rewrites the one row of Alembic's version table with itself: a real committed
        # write (WAL, locks, a read-only or full store refuses it) that changes nothing.
        def rewrite() -> None:
            with self._write() as conn:
                conn.execute(
                    update(alembic_version_stub).values(
                        version_num=alembic_version_stub.c.version_num
                    )
                )

        once_more_if_reconnected(rewrite)
