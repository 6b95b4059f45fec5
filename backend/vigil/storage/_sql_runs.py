"""Runs and their steps: creation, finishing, listing, appending with sequence numbers."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Update,
    bindparam,
    case,
    select,
    update,
)

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    MAX_STEPS_PER_APPEND,
    ArtifactLink,
    Page,
    Run,
    RunCreate,
    RunFinish,
    RunStartEvent,
    RunStatus,
    Step,
    StepCreate,
    StepRecord,
    new_id,
    utc_now,
)
from vigil.models._ids import id_values
from vigil.storage._backend import Backend
from vigil.storage._cursor import (
    decode_id_cursor,
)
from vigil.storage._rows import (
    STEP_COLUMNS,
    step_rows,
)
from vigil.storage._schema import (
    runs,
)
from vigil.storage._schema import (
    steps as steps_table,
)
from vigil.storage._sql_artifacts import insert_step_links, step_links
from vigil.storage._sql_base import (
    SqlStoreBase,
    check_limit,
    found,
    page_of,
    the_run,
    to_model,
)
from vigil.storage.errors import Conflict, NotFound

CACHED_RESERVATIONS: Final = 16
"""``_reserve_seqs`` keeps its statement for batches naming up to this many runs."""


class RunQueries(SqlStoreBase):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._reservations: dict[tuple[int, bool, bool], Update] = {}

    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        now = utc_now()
        row = new_run_row(run_id or new_id(), run, started_at=now, now=now)
        with self._write() as conn:
            if run_id is None:
                conn.execute(runs.insert(), row)
                return Run.model_validate(row)
            inserted = self._insert_run_once(conn, row)
            if inserted is not None:
                return to_model(Run, inserted)
            # Created before: the same key gets the same run (of the same project only).
            existing = conn.execute(select(runs).where(runs.c.id == run_id)).one()
            if existing.project_id != run.project_id:
                raise Conflict(f"run {run_id} exists in another project")
            return to_model(Run, existing)

    def _insert_run_once(self, conn: Connection, row: dict[str, Any]) -> Row[Any] | None:
        """Insert the run unless its id is stored (of any project): the stored row, or None
        when the id was taken. For runs whose id the client made (keyed creates, run_start
        events), which a retry may send again."""
        return conn.execute(
            self._backend.insert(runs)
            .on_conflict_do_nothing(index_elements=[runs.c.id])
            .returning(*runs.c),
            row,
        ).first()

    def get_run(self, run_id: UUID, *, project_id: str | None = None) -> Run:
        with self._read() as conn:
            row = conn.execute(select(runs).where(*the_run(run_id, project_id))).first()
        return to_model(Run, found(row, "run", run_id))

    def finish_run(self, run_id: UUID, finish: RunFinish, *, project_id: str | None = None) -> Run:
        with self._write() as conn:
            row = conn.execute(
                update(runs)
                .where(*the_run(run_id, project_id), runs.c.status == RunStatus.RUNNING.value)
                .values(status=finish.status.value, finished_at=utc_now())
                .returning(*runs.c)
            ).first()
            if row is None:
                status = conn.scalar(select(runs.c.status).where(*the_run(run_id, project_id)))
                found(status, "run", run_id)
                raise Conflict(f"run {run_id} already finished as {status}")
        return to_model(Run, row)

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        project_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Run]:
        check_limit(limit)
        query = select(runs).order_by(runs.c.id.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(runs.c.status == status.value)
        if project_id is not None:
            query = query.where(runs.c.project_id == project_id)
        if cursor is not None:
            query = query.where(runs.c.id < decode_id_cursor("runs", cursor))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return page_of(Run, rows, limit, "runs", lambda run: (run.id,))

    def append_steps(
        self,
        run_id: UUID,
        steps: Sequence[StepCreate],
        *,
        project_id: str | None = None,
        request_id: str | None = None,
    ) -> list[Step]:
        if len(steps) > MAX_STEPS_PER_APPEND:
            raise ValueError(f"at most {MAX_STEPS_PER_APPEND} steps per call")
        now = utc_now()
        with self._write() as conn:
            reserved = self._reserve_seqs(
                conn, {run_id: len(steps)}, project_id, announce=bool(steps)
            )
            last_seq, status = reserved[run_id]
            if status != RunStatus.RUNNING.value:
                raise Conflict(f"run {run_id} has finished as {status}; it takes no more steps")
            first_seq = last_seq - len(steps) + 1
            ids = id_values(len(steps))
            links: dict[UUID, list[ArtifactLink]] = {}
            if steps:
                backend = self._backend
                rows = step_rows(
                    run_id, steps, ids, first_seq, now, backend.timestamp_text, backend.epoch_text,
                    request_id=request_id,
                )  # fmt: skip
                self._backend.bulk_insert(conn, steps_table, STEP_COLUMNS, rows)
                named = step_artifact_pairs(ids, steps)
                if named:
                    insert_step_links(conn, named)
                    links = step_links(conn, run_id, {UUID(int=i) for i in ids})
        return [
            Step(
                id=UUID(int=step_id),
                run_id=run_id,
                seq=first_seq + offset,
                step_type=step.step_type,
                name=step.name,
                data=step.data,
                request_id=step.request_id or request_id,
                trace_id=step.trace_id,
                created_at=step.created_at if step.created_at is not None else now,
                artifacts=links.get(UUID(int=step_id), []),
            )
            for offset, (step_id, step) in enumerate(zip(ids, steps, strict=True))
        ]

    def abandon_idle_runs(self, idle_since: datetime, *, limit: int = 1000) -> list[Run]:
        idle = (
            select(runs.c.id)
            .where(
                runs.c.status == RunStatus.RUNNING.value,
                runs.c.last_activity_at < idle_since,
            )
            .order_by(runs.c.last_activity_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # a run getting a step right now is left alone
            .scalar_subquery()
        )
        with self._write() as conn:
            rows = conn.execute(
                update(runs)
                .where(runs.c.id.in_(idle), runs.c.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.ABANDONED.value, finished_at=utc_now())
                .returning(*runs.c)
            ).all()
        return [to_model(Run, row) for row in rows]

    def run_progress(self, run_ids: Sequence[UUID]) -> dict[UUID, tuple[int, RunStatus]]:
        if not run_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                select(runs.c.id, runs.c.step_count, runs.c.status).where(
                    runs.c.id.in_(list(run_ids))
                )
            ).all()
        return {row.id: (int(row.step_count), RunStatus(row.status)) for row in rows}

    def list_steps(
        self, run_id: UUID, *, after_seq: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> list[Step]:
        check_limit(limit)
        with self._read() as conn:
            rows = conn.execute(
                select(steps_table)
                .where(steps_table.c.run_id == run_id, steps_table.c.seq > after_seq)
                .order_by(steps_table.c.seq)
                .limit(limit)
            ).all()
            if not rows:
                self._require(conn, runs, run_id, "run")
            links = step_links(conn, run_id, [row.id for row in rows])
        return [
            Step.model_validate({**row._asdict(), "artifacts": links.get(row.id, [])})
            for row in rows
        ]

    def _reserve_seqs(
        self,
        conn: Connection,
        counts: Mapping[UUID, int],
        project_id: str | None = None,
        *,
        announce: bool = True,
    ) -> dict[UUID, tuple[int, str]]:
        """Take ``counts[run]`` sequence numbers of each run, in one UPDATE; returns each
        run's last number and status. ``NotFound`` if a run does not exist (or, given
        ``project_id``, belongs to another project: its existence is not revealed). With
        ``announce``, the same statement tells other processes (on commit) that the runs
        have new steps, where the backend can (PostgreSQL's NOTIFY).

        The row locks (PostgreSQL) or the database write lock (SQLite) make concurrent
        appenders to one run take turns, each getting a contiguous range. The rows are
        locked in id order by a ``SELECT ... ORDER BY id FOR UPDATE`` first: an UPDATE alone
        locks in scan order, which changes as rows get new versions, and two batches naming
        the same runs deadlocked (tests/storage/test_steps.py).
        """
        params: dict[str, Any] = {"ids": list(counts), "now": utc_now(), "project": project_id}
        for number, (run_id, count) in enumerate(counts.items()):
            params[f"run_{number}"] = run_id
            params[f"count_{number}"] = count
        rows = conn.execute(
            self._reservation(len(counts), in_project=project_id is not None, announce=announce),
            params,
        ).all()
        reserved = {row.id: (int(row.step_count), str(row.status)) for row in rows}
        missing = [run_id for run_id in counts if run_id not in reserved]
        if missing:
            raise NotFound(f"run {missing[0]} not found")
        return reserved

    def _reservation(self, runs_named: int, *, in_project: bool, announce: bool) -> Update:
        """The statement of ``_reserve_seqs`` for ``runs_named`` runs, with bound parameters
        (``ids``, ``run_<i>``, ``count_<i>``, ``now``, ``project``), built once per shape: building
        it per call cost ~1 ms of CPU on each batch, where SQLAlchemy's compiled cache saves
        only the compilation. Shapes of up to ``CACHED_RESERVATIONS`` runs are kept."""
        shape = (runs_named, in_project, announce)
        statement = self._reservations.get(shape)
        if statement is not None:
            return statement
        in_id_order = (
            select(runs.c.id)
            .where(
                runs.c.id.in_(bindparam("ids", expanding=True, type_=runs.c.id.type)),
                *([runs.c.project_id == bindparam("project")] if in_project else []),
            )
            .order_by(runs.c.id)
            .with_for_update()
            .subquery()
        )
        increment = case(
            *[
                (runs.c.id == bindparam(f"run_{i}", type_=runs.c.id.type), bindparam(f"count_{i}"))
                for i in range(runs_named)
            ],
            else_=0,
        )
        returned: list[ColumnElement[Any]] = [runs.c.id, runs.c.step_count, runs.c.status]
        announcement = self._backend.step_announcement(runs.c.id) if announce else None
        if announcement is not None:
            returned.append(announcement)
        statement = (
            update(runs)
            .where(runs.c.id == in_id_order.c.id)
            .values(
                step_count=runs.c.step_count + increment,
                last_activity_at=bindparam("now", type_=runs.c.last_activity_at.type),
            )
            .returning(*returned)
        )
        if runs_named <= CACHED_RESERVATIONS:
            self._reservations[shape] = statement
        return statement


def step_artifact_pairs(
    ids: Sequence[int], steps: Sequence[StepCreate | StepRecord]
) -> list[tuple[UUID, UUID]]:
    """``(step id, artifact id)`` for every artifact the steps (given their new ids) name."""
    return [
        (UUID(int=step_id), artifact_id)
        for step_id, step in zip(ids, steps, strict=True)
        for artifact_id in step.artifact_ids
    ]


def new_run_row(
    run_id: UUID, run: RunCreate | RunStartEvent, *, started_at: datetime, now: datetime
) -> dict[str, Any]:
    """The row of a run just started (``last_activity_at``: the controller's clock)."""
    return {
        "id": run_id,
        "name": run.name,
        "agent": run.agent,
        "project_id": run.project_id,
        "status": RunStatus.RUNNING.value,
        "started_at": started_at,
        "finished_at": None,
        "step_count": 0,
        "metadata": run.metadata,
        "last_activity_at": now,
    }
