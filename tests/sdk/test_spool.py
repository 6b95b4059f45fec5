"""The spool file on its own: a FIFO of batches that survives its process, bounded, private,
and held by one recorder at a time."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.models import BatchEvent, LogCreate, LogLevel, StepEvent, StepType, new_id
from vigil.sdk._spool import EventSpool, SpoolInUse


def steps(count: int, start: int = 0) -> list[BatchEvent]:
    now = datetime.now(UTC)
    return [
        StepEvent(
            run_id=new_id(), step_type=StepType.TOOL_CALL, name="s", data={"i": i}, created_at=now
        )
        for i in range(start, start + count)
    ]


def test_batches_come_back_in_order_with_their_ids_after_a_reopen(tmp_path: Path) -> None:
    """What one spool kept, the next one opened on the file returns oldest first, with the
    same ids and events, and the same counts."""
    path = tmp_path / "agent.spool"
    kept = [(new_id(), steps(3, start=0)), (new_id(), steps(2, start=3))]
    log = LogCreate(level=LogLevel.INFO, logger="a", service="a", message="m")
    kept.append((new_id(), [log]))
    spool = EventSpool(path)
    for batch_id, events in kept:
        assert spool.append(batch_id, events)
    size = spool.bytes
    spool.close()

    spool = EventSpool(path)
    assert (spool.events, spool.bytes) == (6, size)
    for batch_id, events in kept:
        head = spool.head()
        assert head is not None
        assert (head.batch_id, head.count, head.events()) == (batch_id, len(events), events)
        spool.remove(head)
    assert spool.head() is None
    assert (spool.events, spool.bytes) == (0, 0)
    spool.close()


def test_an_append_past_the_bound_is_refused_whole(tmp_path: Path) -> None:
    """``max_bytes`` bounds the JSON held: the batch that would pass it keeps nothing, a
    smaller one may still fit."""
    spool = EventSpool(tmp_path / "agent.spool", max_bytes=2_000)
    assert spool.append(new_id(), steps(5))
    held = spool.bytes
    assert 0 < held <= 1_200  # five steps of ~215 bytes (the ninth field: artifact links)
    assert not spool.append(new_id(), steps(50))
    assert (spool.events, spool.bytes) == (5, held)
    assert spool.append(new_id(), steps(1))
    assert held < spool.bytes <= 2_000
    spool.close()


def test_one_recorder_per_file(tmp_path: Path) -> None:
    """A second opener is refused while the first holds the file; free again once closed."""
    path = tmp_path / "agent.spool"
    first = EventSpool(path)
    with pytest.raises(SpoolInUse, match="another recorder"):
        EventSpool(path)
    first.close()
    EventSpool(path).close()


def test_the_file_is_private_and_shrinks_once_empty(tmp_path: Path) -> None:
    """Mode 600 (steps carry the agent's data); emptied, it is vacuumed to a few pages."""
    path = tmp_path / "sub" / "agent.spool"
    spool = EventSpool(path)
    for _ in range(20):
        spool.append(new_id(), steps(200))
    grown = path.stat().st_size + Path(f"{path}-wal").stat().st_size
    while (head := spool.head()) is not None:
        spool.remove(head)
    spool.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert grown > 500_000
    assert path.stat().st_size < 20_000


def test_another_sqlite_file_is_not_taken_for_a_spool(tmp_path: Path) -> None:
    """A path that names some other database is refused, and left as it was."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    with pytest.raises(ValueError, match="not a Vigil spool"):
        EventSpool(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("orders",)]
    db.close()
