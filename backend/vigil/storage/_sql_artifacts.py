"""Artifact records of runs."""

from uuid import UUID

from sqlalchemy import (
    select,
)

from vigil.models import (
    ArtifactCreate,
    ArtifactRecord,
    new_id,
    utc_now,
)
from vigil.storage._schema import (
    artifacts,
    runs,
)
from vigil.storage._schema import (
    steps as steps_table,
)
from vigil.storage._sql_base import (
    SqlStoreBase,
    found,
    to_model,
)
from vigil.storage.errors import NotFound


class ArtifactQueries(SqlStoreBase):
    def create_artifact(self, run_id: UUID, artifact: ArtifactCreate) -> ArtifactRecord:
        row = {
            "id": new_id(),
            "run_id": run_id,
            "step_id": artifact.step_id,
            "uri": artifact.uri,
            "kind": artifact.kind,
            "content_type": artifact.content_type,
            "size_bytes": artifact.size_bytes,
            "sha256": artifact.sha256,
            "created_at": utc_now(),
        }
        with self._write() as conn:
            self._require(conn, runs, run_id, "run")
            if artifact.step_id is not None:
                step_run = conn.scalar(
                    select(steps_table.c.run_id).where(steps_table.c.id == artifact.step_id)
                )
                if step_run != run_id:
                    raise NotFound(f"step {artifact.step_id} not found in run {run_id}")
            conn.execute(artifacts.insert(), row)
        return ArtifactRecord.model_validate(row)

    def get_artifact(self, artifact_id: UUID) -> ArtifactRecord:
        with self._read() as conn:
            row = conn.execute(select(artifacts).where(artifacts.c.id == artifact_id)).first()
        return to_model(ArtifactRecord, found(row, "artifact", artifact_id))

    def list_artifacts(self, run_id: UUID) -> list[ArtifactRecord]:
        with self._read() as conn:
            rows = conn.execute(
                select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.id)
            ).all()
            if not rows:
                self._require(conn, runs, run_id, "run")
        return [to_model(ArtifactRecord, row) for row in rows]
