"""The manifest of a backup set: what it holds, written last, checked before any restore.

A set is the objects under ``<id>/`` in the backup location: ``database.*`` (the event
store), ``artifacts.tar.gz`` (the artifact store) and ``manifest.json``. The manifest is
written after every part is stored, so a set without one is incomplete (a backup that
failed or is still running) and is never listed, verified or restored.

The manifest carries its own checksum: the sha256 of its canonical JSON (sorted keys, no
whitespace) without the ``checksum`` field. A flipped byte in it is either invalid JSON or
a checksum mismatch, so neither a part's digest nor a row count can change unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.backups.errors import BackupCorrupt

FORMAT_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
ID_PATTERN: Final = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$"
_ID = re.compile(ID_PATTERN)

PartKind = Literal["postgresql", "sqlite", "artifacts"]


class BackupPart(BaseModel):
    """One stored object of a set, as it was measured while it streamed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="file name inside the set, e.g. database.pgdump")
    kind: PartKind
    format: str = Field(description="pg_dump-custom, sqlite3+gzip or tar+gzip")
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    objects: int | None = Field(None, description="artifacts: how many objects the tar holds")
    object_bytes: int | None = Field(None, description="artifacts: their size before gzip")


class BackupManifest(BaseModel):
    """What a complete backup set holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: Literal[1] = FORMAT_VERSION
    id: str = Field(pattern=ID_PATTERN)
    created_at: datetime
    completed_at: datetime
    duration_s: float = Field(ge=0)
    vigil_version: str
    schema_revision: str | None = Field(description="the Alembic revision of the database")
    database_backend: Literal["sqlite", "postgresql"]
    database_server_version: str | None = Field(
        None, description="PostgreSQL: the server's version (pg_dump matched its major)"
    )
    artifacts_backend: str
    location: str = Field(description="URI of this manifest in the backup location")
    parts: list[BackupPart]
    row_counts: dict[str, int] = Field(
        description="rows per table at the moment of the dump (same snapshot)"
    )

    @property
    def database_part(self) -> BackupPart:
        return next(p for p in self.parts if p.kind in {"postgresql", "sqlite"})

    @property
    def artifacts_part(self) -> BackupPart | None:
        return next((p for p in self.parts if p.kind == "artifacts"), None)

    def to_bytes(self) -> bytes:
        """The stored form: canonical JSON with its checksum."""
        body = self.model_dump(mode="json")
        body["checksum"] = _checksum(body)
        return _canonical(body) + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, backup_id: str) -> BackupManifest:
        """Parse and check a stored manifest (``BackupCorrupt`` if it was altered)."""
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupCorrupt(
                f"backup {backup_id}: the manifest is not valid JSON: {exc}"
            ) from None
        if not isinstance(body, dict) or "checksum" not in body:
            raise BackupCorrupt(f"backup {backup_id}: the manifest has no checksum")
        recorded = body.pop("checksum")
        if recorded != _checksum(body):
            raise BackupCorrupt(
                f"backup {backup_id}: the manifest does not match its checksum (altered)"
            )
        try:
            manifest = cls.model_validate(body)
        except ValidationError as exc:
            raise BackupCorrupt(f"backup {backup_id}: the manifest is malformed: {exc}") from None
        if manifest.id != backup_id:
            raise BackupCorrupt(f"backup {backup_id}: the manifest names {manifest.id}")
        return manifest


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _checksum(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def new_backup_id(now: datetime | None = None) -> str:
    """``20261201T020000Z-3fa2c1``: sortable by time, unique, a safe object key segment."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def is_backup_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def manifest_key(backup_id: str) -> str:
    return f"{backup_id}/{MANIFEST_NAME}"


def part_key(backup_id: str, name: str) -> str:
    return f"{backup_id}/{name}"
