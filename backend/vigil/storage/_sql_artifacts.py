"""Artifact records of runs, and the links from steps to artifacts."""

from collections.abc import Collection, Iterable
from uuid import UUID

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    ArtifactCreate,
    ArtifactLink,
    ArtifactRecord,
    Page,
    new_id,
    utc_now,
)
from vigil.storage._cursor import decode_id_cursor
from vigil.storage._schema import artifacts, runs, step_artifacts
from vigil.storage._schema import steps as steps_table
from vigil.storage._sql_base import (
    SqlStoreBase,
    check_limit,
    found,
    of_project,
    page_of,
    the_run,
    to_model,
)
from vigil.storage.errors import Conflict, NotFound

LINK_COLUMNS = (
    artifacts.c.id,
    artifacts.c.kind,
    artifacts.c.name,
    artifacts.c.content_type,
    artifacts.c.size_bytes,
    artifacts.c.uri,
)
LINK_NAMES = tuple(column.name for column in LINK_COLUMNS)


class ArtifactQueries(SqlStoreBase):
    def create_artifact(
        self,
        run_id: UUID,
        artifact: ArtifactCreate,
        *,
        artifact_id: UUID | None = None,
        project_id: str | None = None,
    ) -> ArtifactRecord:
        row = {
            "id": artifact_id or new_id(),
            "run_id": run_id,
            "step_id": artifact.step_id,
            "name": artifact.name,
            "uri": artifact.uri,
            "kind": artifact.kind,
            "content_type": artifact.content_type,
            "size_bytes": artifact.size_bytes,
            "sha256": artifact.sha256,
            "created_at": utc_now(),
        }
        with self._write() as conn:
            self._require_run(conn, run_id, project_id)
            if artifact.step_id is not None:
                step_run = conn.scalar(
                    select(steps_table.c.run_id).where(steps_table.c.id == artifact.step_id)
                )
                if step_run != run_id:
                    raise NotFound(f"step {artifact.step_id} not found in run {run_id}")
            try:
                conn.execute(artifacts.insert(), row)
            except IntegrityError as exc:  # a concurrent upload with the same id
                raise Conflict(f"artifact {row['id']} exists") from exc
        return ArtifactRecord.model_validate(row)

    @staticmethod
    def _require_run(conn: Connection, run_id: UUID, project_id: str | None) -> None:
        found(conn.scalar(select(runs.c.id).where(*the_run(run_id, project_id))), "run", run_id)

    def get_artifact(self, artifact_id: UUID, *, project_id: str | None = None) -> ArtifactRecord:
        query = select(artifacts).where(artifacts.c.id == artifact_id)
        if project_id is not None:
            query = query.join(runs, runs.c.id == artifacts.c.run_id).where(*of_project(project_id))
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_model(ArtifactRecord, found(row, "artifact", artifact_id))

    def list_artifacts(
        self,
        run_id: UUID,
        *,
        project_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[ArtifactRecord]:
        check_limit(limit)
        query = (
            select(artifacts)
            .where(artifacts.c.run_id == run_id)
            .order_by(artifacts.c.id)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(artifacts.c.id > decode_id_cursor("artifacts", cursor))
        with self._read() as conn:
            self._require_run(conn, run_id, project_id)
            rows = conn.execute(query).all()
        return page_of(ArtifactRecord, rows, limit, "artifacts", lambda a: (a.id,))

    def recorded_artifacts(self, artifact_ids: Collection[UUID]) -> dict[UUID, str]:
        if not artifact_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                select(artifacts.c.id, artifacts.c.uri).where(artifacts.c.id.in_(artifact_ids))
            ).all()
        return {row.id: row.uri for row in rows}


def insert_step_links(conn: Connection, links: Iterable[tuple[UUID, UUID]]) -> None:
    """Link steps to artifacts: ``(step id, artifact id)`` pairs, duplicates dropped."""
    rows = [{"step_id": s, "artifact_id": a} for s, a in dict.fromkeys(links)]
    if rows:
        conn.execute(step_artifacts.insert(), rows)


def step_links(
    conn: Connection, run_id: UUID, step_ids: Collection[UUID]
) -> dict[UUID, list[ArtifactLink]]:
    """The stored artifacts of run ``run_id`` each of ``step_ids`` names or produced."""
    if not step_ids:
        return {}
    ids = list(step_ids)
    named = select(step_artifacts.c.step_id, *LINK_COLUMNS).join(
        artifacts, artifacts.c.id == step_artifacts.c.artifact_id
    )
    named = named.where(step_artifacts.c.step_id.in_(ids), artifacts.c.run_id == run_id)
    produced = select(artifacts.c.step_id, *LINK_COLUMNS).where(
        artifacts.c.step_id.in_(ids), artifacts.c.run_id == run_id
    )
    links: dict[UUID, dict[UUID, ArtifactLink]] = {}
    for query in (named, produced):
        for row in conn.execute(query):
            step_id, *fields = row
            link = ArtifactLink.model_validate(dict(zip(LINK_NAMES, fields, strict=True)))
            links.setdefault(step_id, {})[link.id] = link
    return {step: sorted(by_id.values(), key=_by_id) for step, by_id in links.items()}


def _by_id(link: ArtifactLink) -> UUID:
    return link.id
