"""Retention of checkpoints: delete the threads that have been idle longer than a bound.

Neither saver chooses threads by age: ``PostgresSaver.prune`` (3.2.0) deletes or thins the
threads it is given, ``SqliteSaver`` has only ``delete_thread``, and nothing in either
records when a thread was last used (langgraph #8531). A checkpoint's id does: LangGraph
makes it a UUIDv6 (``langgraph.checkpoint.base.id.uuid6``), whose leading fields are its
timestamp, most significant first, so ids sort by time as text. A thread is idle since its
newest checkpoint; the threads whose newest id sorts below the id of the cut-off instant are
the ones to delete, found by one ``GROUP BY`` on either engine (``COLLATE "C"`` on
PostgreSQL: byte order, whatever the database's collation).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

GREGORIAN_OFFSET: Final = 0x01B21DD213814000
"""100-ns intervals from 1582-10-15 (UUID time) to 1970-01-01 (Unix time)."""
IDLE_THREADS_SQLITE: Final = (
    "SELECT thread_id FROM checkpoints GROUP BY thread_id HAVING max(checkpoint_id) < ?"
)
IDLE_THREADS_POSTGRES: Final = (
    "SELECT thread_id FROM checkpoints GROUP BY thread_id"
    ' HAVING max(checkpoint_id COLLATE "C") < %s'
)


def uuid6_floor(moment: datetime) -> str:
    """The smallest UUIDv6 of ``moment``: every checkpoint id made later sorts above it."""
    ticks = int(moment.timestamp() * 10_000_000) + GREGORIAN_OFFSET
    value = (
        ((ticks >> 28) & 0xFFFF_FFFF) << 96
        | ((ticks >> 12) & 0xFFFF) << 80
        | 0x6 << 76
        | (ticks & 0x0FFF) << 64
    )
    return str(UUID(int=value))


def idle_threads(saver: Any, *, idle_for: timedelta, now: datetime | None = None) -> list[str]:
    """The thread ids whose newest checkpoint is older than ``idle_for``."""
    cutoff = uuid6_floor((now or datetime.now(UTC)) - idle_for)
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(saver, SqliteSaver):
        with saver.lock:
            rows = saver.conn.execute(IDLE_THREADS_SQLITE, (cutoff,)).fetchall()
        return sorted(str(row[0]) for row in rows)
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg_pool import ConnectionPool

    if not isinstance(saver, PostgresSaver) or not isinstance(saver.conn, ConnectionPool):
        raise TypeError(f"not a checkpointer of open_checkpointer: {type(saver).__name__}")
    with saver.conn.connection() as conn:
        rows = conn.execute(IDLE_THREADS_POSTGRES, (cutoff,)).fetchall()
    return sorted(str(row["thread_id"]) for row in rows)


def prune_idle_threads(
    saver: Any,
    *,
    idle_for: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Delete every checkpoint, write and blob of the threads idle longer than ``idle_for``
    (a checkpointer of ``open_checkpointer``); returns their ids. A thread that gets a new
    checkpoint between the query and the delete loses it too: run this on threads idle for
    days, not minutes."""
    threads = idle_threads(saver, idle_for=idle_for, now=now)
    if dry_run or not threads:
        return threads
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(saver, SqliteSaver):  # its prune is the base class's NotImplementedError
        for thread_id in threads:
            saver.delete_thread(thread_id)
    else:
        saver.prune(threads, strategy="delete")  # PostgresSaver: one transaction
    return threads
